using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Policy.Lint;

/// <summary>What one lint run found, and the context writers need to present it.</summary>
/// <param name="Diagnostics">Every finding, in the loader's order (file, line, column).</param>
/// <param name="Files">The files linted, in layering order, as the user named them.</param>
/// <param name="WorkingDirectory">The directory artifact paths are made relative to.</param>
internal sealed record LintReport(IReadOnlyList<ConfigDiagnostic> Diagnostics, IReadOnlyList<string> Files, string WorkingDirectory)
{
    public int ErrorCount => Diagnostics.Count(static d => d.Severity == DiagnosticSeverity.Error);

    public int WarningCount => Diagnostics.Count(static d => d.Severity == DiagnosticSeverity.Warning);
}

/// <summary>Renders a <see cref="LintReport"/> in one output format.</summary>
internal interface ILintWriter
{
    void Write(LintReport report, TextWriter output);
}

/// <summary>The output formats of <c>kt policy lint --format</c>.</summary>
internal enum LintFormat
{
    Text,
    Json,
    Sarif,
}
