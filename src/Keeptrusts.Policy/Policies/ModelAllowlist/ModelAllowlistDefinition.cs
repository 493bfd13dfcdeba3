using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.ModelAllowlist;

/// <summary>The <c>model-allowlist</c> policy: which models and provider targets a request may use.</summary>
internal sealed class ModelAllowlistDefinition : PolicyDefinition<ModelAllowlistOptions>
{
    public override string Id => PolicyCatalog.ModelAllowlist;

    protected override void Check(ModelAllowlistOptions options, PolicyCheckContext context)
    {
        if (options.Models.Count == 0 && options.Targets.Count == 0)
        {
            context.Report(DiagnosticCodes.ModelAllowlistAllowsEverything, "model-allowlist has neither 'models' nor 'targets', so it allows every request; list the allowed models or targets, or remove it from the chain");
        }

        for (var i = 0; i < options.Models.Count; i++)
        {
            var path = ConfigPathOf("models", i);
            var pattern = options.Models[i];
            if (pattern.Length == 0)
            {
                context.Report(DiagnosticCodes.ModelAllowlistEmptyEntry, $"'{path}' is empty; an empty pattern matches no model", path);
                continue;
            }

            var bad = pattern.Where(static c => !ModelGlob.IsPatternChar(c)).Distinct().ToArray();
            if (bad.Length > 0)
            {
                // Patterns are globs, not regular expressions: '[', '^', '|', '\' and spaces suggest a regex was meant.
                context.Report(DiagnosticCodes.ModelAllowlistInvalidGlob, $"'{path}' ('{pattern}') contains {string.Join(", ", bad.Select(static c => $"'{c}'"))}; model patterns may use letters, digits, '-', '_', '.', ':', '/', '@', '+' and the wildcards '*' (any run) and '?' (any one character)", path);
            }
        }

        var known = context.Config.Providers.Targets.Select(static t => t.Id).Where(static id => id.Length > 0).ToList();
        var knownSet = new HashSet<string>(known, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Targets.Count; i++)
        {
            var path = ConfigPathOf("targets", i);
            var target = options.Targets[i];
            if (target.Length == 0)
            {
                context.Report(DiagnosticCodes.ModelAllowlistEmptyEntry, $"'{path}' is empty; name a target of providers.targets", path);
                continue;
            }

            if (!knownSet.Contains(target))
            {
                var suggestion = SuggestTarget(target, known);
                var hint = suggestion is not null ? $"; did you mean '{suggestion}'?"
                    : known.Count > 0 ? $"; configured targets: {string.Join(", ", known)}"
                    : "; no targets are configured in providers.targets";
                context.Report(DiagnosticCodes.ModelAllowlistUnknownTarget, $"'{path}' names target '{target}', which is not a providers.targets id{hint}", path);
            }
        }
    }

    protected override IChainPolicy Create(ModelAllowlistOptions options, PolicyConfig config, PolicyServices services) =>
        new ModelAllowlistPolicy(Id, options.Models, options.Targets);

    private static string ConfigPathOf(string list, int index) => list + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";

    private static string? SuggestTarget(string target, List<string> known)
    {
        // Suggest() folds the input to snake_case, as it was written for YAML keys; fold the ids the same way so a
        // typo in "openai-primary" is measured by the typo alone.
        var folded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in known)
        {
            folded.TryAdd(id.ToLowerInvariant().Replace('-', '_'), id);
        }

        return ConfigBinder.Suggest(target, folded.Keys) is { } match ? folded[match] : null;
    }
}
