using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>The chain names known policies, each once, and settings blocks belong to chained policies.</summary>
internal sealed class ChainRule(IReadOnlyCollection<string> knownPolicies) : IConfigRule
{
    public void Check(LintContext context)
    {
        var chain = context.Config.Policies.Chain;
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < chain.Count; i++)
        {
            var id = chain[i];
            var path = ConfigPath.Index("policies.chain", i);
            if (!knownPolicies.Contains(id, StringComparer.OrdinalIgnoreCase))
            {
                var suggestion = ConfigBinder.Suggest(id, knownPolicies);
                var hint = suggestion is null ? $"known policies: {string.Join(", ", knownPolicies)}" : $"did you mean '{suggestion}'?";
                context.Report(DiagnosticCodes.UnknownPolicy, $"the chain names '{id}', which is not a known policy; {hint}", path);
            }

            if (!seen.TryAdd(id, i))
            {
                context.Report(DiagnosticCodes.DuplicateChainEntry, $"'{id}' is already in the chain at position {seen[id]}; a policy runs once per phase", path);
            }
        }

        foreach (var id in context.Config.Policy.Keys)
        {
            if (!seen.ContainsKey(id))
            {
                context.Report(DiagnosticCodes.PolicyNotInChain, $"settings for '{id}' have no effect because '{id}' is not in policies.chain; add it to the chain or remove the block", ConfigPath.Child("policy", id));
            }
        }
    }
}
