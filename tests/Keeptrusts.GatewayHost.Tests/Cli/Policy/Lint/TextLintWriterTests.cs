using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy.Lint;

public sealed class TextLintWriterTests
{
    [Fact]
    public void Findings_are_compiler_style_and_file_level_ones_have_no_position()
    {
        var report = new LintReport(
            [
                new ConfigDiagnostic("KT0002", DiagnosticSeverity.Error, "the file is binary", SourceLocation.OfFile("b.yaml"), string.Empty),
                new ConfigDiagnostic("KT1102", DiagnosticSeverity.Warning, "unknown key 'x'", new SourceLocation("a.yaml", 3, 5), "pack.x"),
            ],
            ["a.yaml", "b.yaml"],
            "/repo");

        Assert.Equal(
            [
                "b.yaml: error KT0002: the file is binary",
                "a.yaml:3:5: warning KT1102: unknown key 'x' [pack.x]",
                "1 error, 1 warning",
            ],
            Lines(report));
    }

    [Fact]
    public void A_multi_line_message_stays_on_one_line()
    {
        var report = new LintReport(
            [new ConfigDiagnostic("KT1001", DiagnosticSeverity.Error, "while scanning\nfound a tab", new SourceLocation("a.yaml", 2, 1), string.Empty)],
            ["a.yaml"],
            "/repo");

        Assert.Equal(["a.yaml:2:1: error KT1001: while scanning found a tab", "1 error, 0 warnings"], Lines(report));
    }

    [Theory]
    [InlineData(1, "no problems found in 1 file")]
    [InlineData(3, "no problems found in 3 files")]
    public void Clean_summary_counts_files(int files, string expected)
    {
        var report = new LintReport([], [.. Enumerable.Range(0, files).Select(static i => $"{i}.yaml")], "/repo");

        Assert.Equal([expected], Lines(report));
    }

    private static string[] Lines(LintReport report)
    {
        using var output = new StringWriter();
        new TextLintWriter().Write(report, output);
        return output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
    }
}
