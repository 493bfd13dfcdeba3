using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Policies;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>Each built-in policy validates its own settings block (and its defaults, when it has no block).</summary>
internal sealed class PolicySettingsRule : IConfigRule
{
    private static readonly PolicySettings Defaults = new();

    public void Check(LintContext context)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in context.Config.Policies.Chain.Concat(context.Config.Policy.Keys))
        {
            if (seen.Add(id) && PolicyRegistry.TryGet(id, out var definition))
            {
                definition.Validate(context.Config.Policy.TryGetValue(id, out var settings) ? settings : Defaults, context);
            }
        }
    }
}
