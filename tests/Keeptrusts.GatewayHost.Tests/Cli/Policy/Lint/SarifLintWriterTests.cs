using System.Text.Json;
using System.Text.RegularExpressions;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.GatewayHost.Tests.TestSupport;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy.Lint;

public sealed partial class SarifLintWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Log_has_the_required_sarif_2_1_0_structure()
    {
        var file = _dir.Write(Path.Combine("configs", "team a", "policy-config.yaml"), Configs.Errors);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "sarif");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var sarif = JsonDocument.Parse(run.Out);
        var root = sarif.RootElement;
        Assert.Equal("https://json.schemastore.org/sarif-2.1.0.json", root.GetProperty("$schema").GetString());
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        var sarifRun = Assert.Single(root.GetProperty("runs").EnumerateArray());

        var driver = sarifRun.GetProperty("tool").GetProperty("driver");
        Assert.Equal("kt", driver.GetProperty("name").GetString());
        Assert.True(Uri.IsWellFormedUriString(driver.GetProperty("informationUri").GetString(), UriKind.Absolute));
        Assert.Matches(SemVer(), driver.GetProperty("semanticVersion").GetString());

        var srcRoot = sarifRun.GetProperty("originalUriBaseIds").GetProperty("%SRCROOT%").GetProperty("uri").GetString()!;
        Assert.StartsWith("file:///", srcRoot, StringComparison.Ordinal);
        Assert.EndsWith("/", srcRoot, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Driver_lists_every_catalog_rule_with_metadata_and_help_link()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "sarif");

        using var sarif = JsonDocument.Parse(run.Out);
        var rules = sarif.RootElement.GetProperty("runs")[0].GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().ToList();
        Assert.Equal(LintRuleCatalog.Rules.Select(static r => r.Code), rules.Select(static r => r.GetProperty("id").GetString()));
        Assert.Contains(rules, static r => r.GetProperty("id").GetString() == "KT1102");
        foreach (var rule in rules)
        {
            var id = rule.GetProperty("id").GetString()!;
            Assert.Matches(RuleId(), id);
            Assert.False(string.IsNullOrWhiteSpace(rule.GetProperty("shortDescription").GetProperty("text").GetString()));
            Assert.Contains(rule.GetProperty("defaultConfiguration").GetProperty("level").GetString(), new[] { "error", "warning" });
            var help = rule.GetProperty("helpUri").GetString()!;
            Assert.True(Uri.IsWellFormedUriString(help, UriKind.Absolute), help);
            Assert.EndsWith("docs/lint-rules.md#" + id.ToLowerInvariant(), help, StringComparison.Ordinal);
        }

        Assert.Equal("warning", rules.Single(static r => r.GetProperty("id").GetString() == "KT1102").GetProperty("defaultConfiguration").GetProperty("level").GetString());
        Assert.Equal("error", rules.Single(static r => r.GetProperty("id").GetString() == "KT2202").GetProperty("defaultConfiguration").GetProperty("level").GetString());
        Assert.Empty(sarif.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray());
    }

    [Fact]
    public async Task Results_point_at_rules_files_regions_and_document_paths()
    {
        var file = _dir.Write(Path.Combine("configs", "team a", "policy-config.yaml"), Configs.Errors);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "sarif");

        using var sarif = JsonDocument.Parse(run.Out);
        var sarifRun = sarif.RootElement.GetProperty("runs")[0];
        var rules = sarifRun.GetProperty("tool").GetProperty("driver").GetProperty("rules");
        var results = sarifRun.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, results.Count);
        foreach (var result in results)
        {
            var ruleId = result.GetProperty("ruleId").GetString();
            Assert.Equal(ruleId, rules[result.GetProperty("ruleIndex").GetInt32()].GetProperty("id").GetString());
            Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("message").GetProperty("text").GetString()));
            var artifact = result.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation");
            Assert.Equal("configs/team%20a/policy-config.yaml", artifact.GetProperty("uri").GetString());
            Assert.Equal("%SRCROOT%", artifact.GetProperty("uriBaseId").GetString());
        }

        var unknownPolicy = results.Single(static r => r.GetProperty("ruleId").GetString() == "KT2101");
        Assert.Equal("error", unknownPolicy.GetProperty("level").GetString());
        var location = unknownPolicy.GetProperty("locations")[0];
        var region = location.GetProperty("physicalLocation").GetProperty("region");
        Assert.Equal(5, region.GetProperty("startLine").GetInt32());
        Assert.Equal(11, region.GetProperty("startColumn").GetInt32());
        Assert.Equal("policies.chain[0]", location.GetProperty("logicalLocations")[0].GetProperty("fullyQualifiedName").GetString());

        var unknownKey = results.Single(static r => r.GetProperty("ruleId").GetString() == "KT1102");
        Assert.Equal("warning", unknownKey.GetProperty("level").GetString());
    }

    [Fact]
    public void File_level_findings_have_no_region_and_no_logical_location()
    {
        var report = new LintReport(
            [new ConfigDiagnostic("KT0003", DiagnosticSeverity.Error, "too large", SourceLocation.OfFile(Path.Combine(_dir.Path, "big.yaml")), string.Empty)],
            ["big.yaml"],
            _dir.Path);

        using var sarif = JsonDocument.Parse(Write(report));

        var location = sarif.RootElement.GetProperty("runs")[0].GetProperty("results")[0].GetProperty("locations")[0];
        Assert.False(location.GetProperty("physicalLocation").TryGetProperty("region", out _));
        Assert.False(location.TryGetProperty("logicalLocations", out _));
        Assert.Equal("big.yaml", location.GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
    }

    [Fact]
    public void Files_outside_the_working_directory_get_absolute_file_uris()
    {
        var outside = Path.Combine(Path.GetTempPath(), "elsewhere", "policy-config.yaml");

        var (uri, isRelative) = SarifLintWriter.ArtifactUri(outside, _dir.Path);

        Assert.False(isRelative);
        Assert.Equal(new Uri(outside).AbsoluteUri, uri);
    }

    [Fact]
    public void Relative_paths_are_resolved_against_the_working_directory_with_forward_slashes()
    {
        var (uri, isRelative) = SarifLintWriter.ArtifactUri(Path.Combine("deploy", ".", "prod", "policy-config.yaml"), _dir.Path);

        Assert.True(isRelative);
        Assert.Equal("deploy/prod/policy-config.yaml", uri);
    }

    [Fact]
    public void Severity_of_the_finding_wins_over_the_rule_default()
    {
        var report = new LintReport(
            [new ConfigDiagnostic("KT1102", DiagnosticSeverity.Error, "escalated", new SourceLocation("a.yaml", 1, 1), "x")],
            ["a.yaml"],
            _dir.Path);

        using var sarif = JsonDocument.Parse(Write(report));

        Assert.Equal("error", sarif.RootElement.GetProperty("runs")[0].GetProperty("results")[0].GetProperty("level").GetString());
    }

    private static string Write(LintReport report)
    {
        using var output = new StringWriter();
        new SarifLintWriter().Write(report, output);
        return output.ToString();
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")]
    private static partial Regex SemVer();

    [GeneratedRegex("^KT[0-9]{4}$")]
    private static partial Regex RuleId();
}
