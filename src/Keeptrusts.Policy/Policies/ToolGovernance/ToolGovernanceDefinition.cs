using System.Globalization;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Policies.ToolGovernance;

/// <summary>The <c>tool-governance</c> policy: which tools callers and models may use, and how large tool traffic may be.</summary>
internal sealed class ToolGovernanceDefinition : PolicyDefinition<ToolGovernanceOptions>
{
    public override string Id => PolicyCatalog.ToolGovernance;

    protected override void Check(ToolGovernanceOptions options, PolicyCheckContext context)
    {
        if (options.Allow.Count == 0 && options.Deny.Count == 0)
        {
            context.Report(DiagnosticCodes.ToolGovernanceAllowsEverything, "tool-governance has neither 'allow' nor 'deny', so every tool may be used; list the allowed or denied tools (argument and size checks still apply)");
        }

        CheckList("allow", options.Allow, context);
        CheckList("deny", options.Deny, context);

        var denied = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Deny.Count; i++)
        {
            denied.TryAdd(options.Deny[i], i);
        }

        for (var i = 0; i < options.Allow.Count; i++)
        {
            if (options.Allow[i].Length > 0 && denied.TryGetValue(options.Allow[i], out var at))
            {
                context.Report(DiagnosticCodes.ToolGovernanceAllowedAndDenied, $"'{PathOf("allow", i)}' ('{options.Allow[i]}') is also {PathOf("deny", at)}; deny wins, so the allow entry does nothing: remove one", PathOf("allow", i));
            }
        }
    }

    protected override IChainPolicy Create(ToolGovernanceOptions options, PolicyConfig config, PolicyServices services) =>
        new ToolGovernancePolicy(Id, options);

    private static void CheckList(string list, IReadOnlyList<string> patterns, PolicyCheckContext context)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            var path = PathOf(list, i);
            var pattern = patterns[i];
            if (pattern.Length == 0)
            {
                context.Report(DiagnosticCodes.ToolGovernanceEmptyEntry, $"'{path}' is empty; an empty pattern matches no tool", path);
                continue;
            }

            var bad = pattern.Where(static c => !ToolGlob.IsPatternChar(c)).Distinct().ToArray();
            if (bad.Length > 0)
            {
                context.Report(DiagnosticCodes.ToolGovernanceInvalidGlob, $"'{path}' ('{pattern}') contains {string.Join(", ", bad.Select(static c => $"'{c}'"))}; tool patterns may use letters, digits, '-', '_', '.', '/', ':' and the wildcards '*' (any run) and '?' (any one character)", path);
            }
        }
    }

    private static string PathOf(string list, int index) => list + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
}
