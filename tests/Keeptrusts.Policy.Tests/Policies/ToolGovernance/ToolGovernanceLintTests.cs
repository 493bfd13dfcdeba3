using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.ToolGovernance;

/// <summary>One row per tool-governance lint code: a document, the finding it must produce, and where.</summary>
public class ToolGovernanceLintTests
{
    // The policy block is on line 7; its first setting on line 8.
    private const string Header = """
        pack:
          name: t
          version: 1.0.0
        policies:
          chain: [tool-governance]
        policy:
          tool-governance:

        """;

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, settings (after the header), code, path, line
        { "empty allow entry", "    allow: [search_docs, '']\n", "KT3801", "policy.tool-governance.allow[1]", 8 },
        { "empty deny entry", "    deny:\n      - ''\n", "KT3801", "policy.tool-governance.deny[0]", 9 },
        { "regex instead of glob", "    deny: ['delete_.*|drop_.+']\n", "KT3802", "policy.tool-governance.deny[0]", 8 },
        { "space in glob", "    allow: ['search docs']\n", "KT3802", "policy.tool-governance.allow[0]", 8 },
        { "allows every tool", "    mode: enforce\n", "KT3803", "policy.tool-governance", 7 },
        { "empty lists", "    allow: []\n    deny: []\n", "KT3803", "policy.tool-governance", 7 },
        { "allowed and denied", "    allow: [fs_read, FS_WRITE]\n    deny: [fs_write]\n", "KT3804", "policy.tool-governance.allow[1]", 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_reports_its_code_at_the_offending_node(string name, string settings, string code, string path, int line)
    {
        var result = PolicyConfigLoader.Parse(Header + settings, "case.yaml");

        var finding = LintAssert.SingleFinding(result, code, path, line, name);
        Assert.Equal(finding.Severity == DiagnosticSeverity.Error, result.Config is null);
    }

    [Fact]
    public void Every_tool_governance_code_has_a_case()
    {
        var covered = Cases().Select(row => (string)row[2]).ToHashSet();

        Assert.Empty(DiagnosticCodes.Catalog.Keys.Where(static c => c.StartsWith("KT38", StringComparison.Ordinal)).Except(covered));
    }

    [Theory]
    [InlineData("    on_violation: drop\n", "policy.tool-governance.on_violation")]
    [InlineData("    max_argument_bytes: 0\n", "policy.tool-governance.max_argument_bytes")]
    [InlineData("    max_result_bytes: lots\n", "policy.tool-governance.max_result_bytes")]
    [InlineData("    alow: [x]\n", "policy.tool-governance.alow")]
    public void Values_of_the_wrong_kind_are_reported_at_their_key(string settings, string path)
    {
        var result = PolicyConfigLoader.Parse(Header + "    deny: [x]\n" + settings, "case.yaml");

        Assert.Contains(result.Diagnostics, d => d.Path == path);
    }

    [Fact]
    public void A_full_valid_block_lints_clean()
    {
        var result = PolicyConfigLoader.Parse(Header + """
                allow: ["search_*", docs/read, "weather.get_?"]
                deny: [search_admin*]
                on_violation: block
                validate_arguments: true
                max_argument_bytes: 4096
                max_result_bytes: 65536
            """ + "\n", "ok.yaml");

        Assert.Empty(result.Diagnostics);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void An_mcp_target_needs_a_base_url_or_an_adapter_command()
    {
        const string Doc = """
            pack: {name: t, version: 1.0.0}
            providers:
              targets:
                - {id: tools, provider: mcp}
                - {id: native, provider: mcp, base_url: "http://127.0.0.1:9/"}
                - {id: local, provider: mcp, adapter_command: "./run-mcp"}
            """;

        var result = PolicyConfigLoader.Parse(Doc, "m.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal(("KT2208", "providers.targets[0].provider", DiagnosticSeverity.Warning), (finding.Code, finding.Path, finding.Severity));
    }
}
