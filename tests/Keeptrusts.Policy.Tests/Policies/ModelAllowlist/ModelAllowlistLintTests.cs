using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.ModelAllowlist;

/// <summary>One row per model-allowlist lint code: a document, the finding it must produce, and where.</summary>
public class ModelAllowlistLintTests
{
    // The policy block is on line 11; its first setting on line 12.
    private const string Header = """
        pack:
          name: t
          version: 1.0.0
        policies:
          chain: [model-allowlist]
        providers:
          targets:
            - {id: openai-primary, provider: openai}
            - {id: anthropic-fallback, provider: anthropic}
        policy:
          model-allowlist:

        """;

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, settings (after the header), code, path, line
        { "unknown target", "    targets: [openai-primary, openai-primray]\n", "KT3401", "policy.model-allowlist.targets[1]", 12 },
        { "unknown target, no suggestion", "    models: [gpt-4o]\n    targets:\n      - azure-east\n", "KT3401", "policy.model-allowlist.targets[0]", 14 },
        { "empty model pattern", "    models: [gpt-4o, '']\n", "KT3402", "policy.model-allowlist.models[1]", 12 },
        { "empty target", "    targets: ['']\n", "KT3402", "policy.model-allowlist.targets[0]", 12 },
        { "allows everything", "    mode: enforce\n", "KT3403", "policy.model-allowlist", 11 },
        { "empty lists", "    models: []\n    targets: []\n", "KT3403", "policy.model-allowlist", 11 },
        { "regex instead of glob", "    models: ['gpt-4o.*|gpt-5']\n", "KT3404", "policy.model-allowlist.models[0]", 12 },
        { "space in glob", "    models: [gpt-4o, 'gpt 4o']\n", "KT3404", "policy.model-allowlist.models[1]", 12 },
        { "character class", "    models: ['gpt-[45]o']\n", "KT3404", "policy.model-allowlist.models[0]", 12 },
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
    public void Every_model_allowlist_code_has_a_case()
    {
        var covered = Cases().Select(row => (string)row[2]).ToHashSet();

        Assert.Empty(DiagnosticCodes.Catalog.Keys.Where(static c => c.StartsWith("KT34", StringComparison.Ordinal)).Except(covered));
    }

    [Fact]
    public void An_unknown_target_suggests_the_closest_configured_id()
    {
        var result = PolicyConfigLoader.Parse(Header + "    targets: [OpenAI-Primray]\n", "m.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Contains("did you mean 'openai-primary'?", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_target_without_a_close_match_lists_the_configured_ids()
    {
        var result = PolicyConfigLoader.Parse(Header + "    targets: [azure-east]\n", "m.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Contains("configured targets: openai-primary, anthropic-fallback", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Targets_compare_case_insensitively_and_models_no_target_serves_are_fine()
    {
        var result = PolicyConfigLoader.Parse(Header + "    models: [gpt-4o*, 'o3-mini', 'claude-?-opus', 'meta-llama/Llama-3.1-8B@latest', 'anthropic.claude-v2:1']\n    targets: [OPENAI-PRIMARY]\n", "m.yaml");

        Assert.Empty(result.Diagnostics);
    }
}
