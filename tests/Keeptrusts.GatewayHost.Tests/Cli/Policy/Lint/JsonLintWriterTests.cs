using System.Text.Json;
using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.GatewayHost.Tests.TestSupport;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy.Lint;

public sealed class JsonLintWriterTests
{
    private static readonly string[] PropertyOrder = ["code", "severity", "message", "file", "line", "column", "path"];

    [Fact]
    public void Each_finding_has_every_property_in_a_stable_order()
    {
        var report = new LintReport(
            [
                new ConfigDiagnostic("KT2202", DiagnosticSeverity.Error, "target 'x' uses provider 'webhook'", new SourceLocation("configs/a.yaml", 9, 17), "providers.targets[0].provider"),
                new ConfigDiagnostic("KT1102", DiagnosticSeverity.Warning, "unknown key 'colour'", new SourceLocation("configs/a.yaml", 10, 7), "providers.targets[0].colour"),
            ],
            ["configs/a.yaml"],
            "/repo");

        using var json = JsonDocument.Parse(Write(report));

        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
        Assert.Equal(2, json.RootElement.GetArrayLength());
        foreach (var element in json.RootElement.EnumerateArray())
        {
            Assert.Equal(PropertyOrder, element.EnumerateObject().Select(static p => p.Name));
        }

        var first = json.RootElement[0];
        Assert.Equal("KT2202", first.GetProperty("code").GetString());
        Assert.Equal("error", first.GetProperty("severity").GetString());
        Assert.Equal("target 'x' uses provider 'webhook'", first.GetProperty("message").GetString());
        Assert.Equal("configs/a.yaml", first.GetProperty("file").GetString());
        Assert.Equal(9, first.GetProperty("line").GetInt32());
        Assert.Equal(17, first.GetProperty("column").GetInt32());
        Assert.Equal("providers.targets[0].provider", first.GetProperty("path").GetString());
        Assert.Equal("warning", json.RootElement[1].GetProperty("severity").GetString());
    }

    [Fact]
    public void File_level_findings_have_null_line_and_column_and_an_empty_path()
    {
        var report = new LintReport(
            [new ConfigDiagnostic("KT0003", DiagnosticSeverity.Error, "the file is 50 MiB", SourceLocation.OfFile("big.yaml"), string.Empty)],
            ["big.yaml"],
            "/repo");

        using var json = JsonDocument.Parse(Write(report));

        var finding = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal(JsonValueKind.Null, finding.GetProperty("line").ValueKind);
        Assert.Equal(JsonValueKind.Null, finding.GetProperty("column").ValueKind);
        Assert.Equal(string.Empty, finding.GetProperty("path").GetString());
    }

    [Fact]
    public void No_findings_is_an_empty_array()
    {
        var text = Write(new LintReport([], ["a.yaml"], "/repo"));

        Assert.Equal("[]", text.Trim());
    }

    [Fact]
    public void Text_is_escaped_only_where_json_requires_it()
    {
        var report = new LintReport(
            [new ConfigDiagnostic("KT1105", DiagnosticSeverity.Error, "'é' is \"odd\"\n<b>", new SourceLocation("a.yaml", 1, 1), "x")],
            ["a.yaml"],
            "/repo");

        var text = Write(report);

        Assert.Contains("'é' is \\\"odd\\\"\\n<b>", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("'é' is \"odd\"\n<b>", json.RootElement[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task The_command_output_has_the_same_shape_for_a_real_file()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("policy-config.yaml", Configs.WarningsOnly);

        var run = await Kt.RunAsync(dir.Path, "policy", "lint", "--file", file, "--format", "json");

        using var json = JsonDocument.Parse(run.Out);
        var finding = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal(PropertyOrder, finding.EnumerateObject().Select(static p => p.Name));
        Assert.Equal(file, finding.GetProperty("file").GetString());
        Assert.Equal(11, finding.GetProperty("line").GetInt32());
    }

    private static string Write(LintReport report)
    {
        using var output = new StringWriter();
        new JsonLintWriter().Write(report, output);
        return output.ToString();
    }
}
