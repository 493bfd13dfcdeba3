using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Policy.Lint;

/// <summary>
/// Compiler-style lines (<c>file:line:col: error KT1102: message [path]</c>) that editors and CI logs turn into
/// links, then a one-line summary.
/// </summary>
internal sealed class TextLintWriter : ILintWriter
{
    public void Write(LintReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var diagnostic in report.Diagnostics)
        {
            output.WriteLine(KtCommand.OneLine(diagnostic.ToString()));
        }

        output.WriteLine(Summary(report));
    }

    internal static string Summary(LintReport report)
    {
        if (report.Diagnostics.Count == 0)
        {
            var files = report.Files.Distinct(StringComparer.Ordinal).Count();
            return $"no problems found in {Count(files, "file")}";
        }

        return $"{Count(report.ErrorCount, "error")}, {Count(report.WarningCount, "warning")}";
    }

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}

/// <summary>The lowercase severity names every output format uses.</summary>
internal static class SeverityNames
{
    public static string Of(DiagnosticSeverity severity) => severity == DiagnosticSeverity.Error ? "error" : "warning";
}
