using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Policy.Lint;

/// <summary>One diagnostic code as tools see it: its id, title, default severity and documentation.</summary>
internal sealed record LintRule(string Code, string Title, DiagnosticSeverity DefaultSeverity)
{
    /// <summary>
    /// The rule's section in <c>docs/lint-rules.md</c>. Each section's heading is the bare code (<c>## KT1102</c>),
    /// so its anchor is the lowercase code on GitHub and every other common Markdown renderer.
    /// </summary>
    public Uri HelpUri { get; } = new(LintRuleCatalog.DocumentationUri + "#" + Code.ToLowerInvariant());
}

/// <summary>Every code the configuration loader can report, ordered by code, for SARIF rule metadata.</summary>
internal static class LintRuleCatalog
{
    public const string DocumentationUri = "https://github.com/keeptrusts/keeptrusts-dotnet/blob/main/docs/lint-rules.md";

    public static IReadOnlyList<LintRule> Rules { get; } =
        [.. DiagnosticCodes.Catalog
            .OrderBy(static entry => entry.Key, StringComparer.Ordinal)
            .Select(static entry => new LintRule(entry.Key, entry.Value.Title, entry.Value.Severity))];
}
