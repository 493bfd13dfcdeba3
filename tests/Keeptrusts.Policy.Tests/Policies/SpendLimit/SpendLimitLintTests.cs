using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Policies.SpendLimit;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

/// <summary>One row per spend-limit lint rule: a document, the finding it must produce, and where.</summary>
public class SpendLimitLintTests
{
    private const string Head = "pack:\n  name: t\n  version: 1.0.0\npolicies:\n  chain: [spend-limit]\npolicy:\n  spend-limit:\n";
    private const string Priced = "providers:\n  targets:\n    - id: openai\n      provider: openai\n      model: gpt-4o\n      pricing: {input_usd_per_million: 2.5, output_usd_per_million: 10}\n";

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, yaml, code, path, line
        { "no limit at all", Head + "    timezone: UTC\n" + Priced, "KT3501", "policy.spend-limit", 7 },
        { "unknown time zone", Head + "    max_daily_usd: 5\n    timezone: Mars/Olympus_Mons\n" + Priced, "KT3502", "policy.spend-limit.timezone", 9 },
        { "empty time zone", Head + "    max_daily_usd: 5\n    timezone: \"\"\n" + Priced, "KT3502", "policy.spend-limit.timezone", 9 },
        { "target without pricing", Head + "    max_daily_usd: 5\nproviders:\n  targets:\n    - id: local\n      provider: echo\n", "KT3503", "policy.spend-limit", 7 },
        { "model without pricing", Head + "    max_daily_usd_per_user: 1\nproviders:\n  targets:\n    - id: openai\n      provider: openai\n      models:\n        - id: gpt-4o\n          pricing: {input_usd_per_million: 2.5, output_usd_per_million: 10}\n        - id: o3\n", "KT3503", "policy.spend-limit", 7 },
        { "zero output estimate", Head + "    max_daily_usd: 5\n    estimated_output_tokens: 0\n" + Priced, "KT3504", "policy.spend-limit.estimated_output_tokens", 9 },
        { "huge output estimate", Head + "    max_daily_usd: 5\n    estimated_output_tokens: 1000001\n" + Priced, "KT3504", "policy.spend-limit.estimated_output_tokens", 9 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_reports_its_code_once_at_the_offending_node(string name, string yaml, string code, string path, int line)
    {
        var result = PolicyConfigLoader.Parse(yaml, "case.yaml");

        var finding = LintAssert.SingleFinding(result, code, path, line, name);

        // The schema knows these ranges too; it must stay silent where the policy reports.
        Assert.DoesNotContain(result.Diagnostics, d => d.Path == path && d.Code != code);
        Assert.Equal(finding.Severity == DiagnosticSeverity.Error, result.Config is null);
    }

    [Fact]
    public void Every_spend_limit_code_in_the_catalog_has_a_case()
    {
        var covered = Cases().Select(row => (string)row[2]).ToHashSet();
        var ours = DiagnosticCodes.Catalog.Keys.Where(static c => c.StartsWith("KT35", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(ours);
        Assert.Empty(ours.Except(covered));
    }

    [Theory]
    [InlineData("max_daily_usd", "-1")]
    [InlineData("max_daily_usd_per_user", "-0.01")]
    [InlineData("max_daily_usd_per_team", "-100")]
    public void A_negative_limit_is_reported_once_by_the_schema(string key, string value)
    {
        var result = PolicyConfigLoader.Parse(Head + $"    {key}: {value}\n" + Priced, "case.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal(("KT1101", "policy.spend-limit." + key, 8), (finding.Code, finding.Path, finding.Location.Line));
        Assert.Null(result.Config);
    }

    [Fact]
    public void A_complete_configuration_is_clean()
    {
        var yaml = Head + "    max_daily_usd: 500\n    max_daily_usd_per_user: 20.5\n    max_daily_usd_per_team: 100\n    estimated_output_tokens: 2048\n    timezone: Europe/Paris\n" + Priced;

        var result = PolicyConfigLoader.Parse(yaml);

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void The_unpriced_warning_names_the_target_and_the_models()
    {
        var yaml = Head + "    max_daily_usd: 5\nproviders:\n  targets:\n    - id: openai\n      provider: openai\n      model: gpt-4.1\n      models:\n        - id: gpt-4o\n          pricing: {input_usd_per_million: 2.5, output_usd_per_million: 10}\n        - id: o3\n";

        var finding = Assert.Single(PolicyConfigLoader.Parse(yaml).Diagnostics, d => d.Code == "KT3503");

        Assert.Contains("'openai'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("'gpt-4.1'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("'o3'", finding.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'gpt-4o'", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("policies:\n  chain: []\n")]
    [InlineData("policies:\n  chain: [spend-limit]\n", "    mode: monitor\n")]
    public void Unpriced_targets_are_not_reported_when_no_limit_applies(string chain, string settings = "    max_daily_usd: 5\n")
    {
        var yaml = "pack:\n  name: t\n  version: 1.0.0\n" + chain + "policy:\n  spend-limit:\n" + settings + "providers:\n  targets:\n    - {id: local, provider: echo}\n";

        Assert.DoesNotContain(PolicyConfigLoader.Parse(yaml).Diagnostics, d => d.Code == "KT3503");
    }

    [Fact]
    public void A_wrong_type_is_reported_once_per_key_and_not_again_by_the_policy()
    {
        var yaml = Head + "    max_daily_usd: lots\n    estimated_output_tokens: many\n    timezone: [UTC]\n" + Priced;

        var result = PolicyConfigLoader.Parse(yaml);

        // Whoever reports first (binder or schema) reports alone; the policy then sees defaults and says only that no limit is set.
        Assert.Equal(
            ["policy.spend-limit", "policy.spend-limit.estimated_output_tokens", "policy.spend-limit.max_daily_usd", "policy.spend-limit.timezone"],
            result.Diagnostics.Select(d => d.Path).Order(StringComparer.Ordinal));
        Assert.Equal("KT3501", Assert.Single(result.Diagnostics, d => d.Code.StartsWith("KT35", StringComparison.Ordinal)).Code);
        Assert.All(result.Diagnostics.Where(d => d.Path != "policy.spend-limit"), d => Assert.Contains(d.Code, new[] { "KT1101", "KT1103" }));
    }

    [Fact]
    public void A_chain_entry_without_a_settings_block_lints_clean_like_every_policy_default()
    {
        var result = PolicyConfigLoader.Parse("pack:\n  name: t\n  version: 1.0.0\npolicies:\n  chain: [spend-limit]\nproviders:\n  targets:\n    - {id: local, provider: echo}\n");

        Assert.Empty(result.Diagnostics);
        Assert.NotNull(result.Config);
    }

    [Theory]
    [InlineData("UTC")]
    [InlineData("utc")]
    [InlineData("Etc/UTC")]
    [InlineData("Europe/Paris")]
    [InlineData("America/New_York")]
    [InlineData("Asia/Kathmandu")]
    [InlineData("Pacific/Chatham")]
    public void Iana_time_zones_resolve_under_invariant_globalization(string id)
    {
        Assert.True(BudgetCalendar.TryResolve(id, out var zone));
        Assert.NotNull(zone);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("../../etc/passwd")]
    [InlineData("Europe/Paris\0")]
    [InlineData("+05:00")]
    public void Unknown_or_malicious_time_zone_ids_do_not_resolve(string id)
    {
        Assert.False(BudgetCalendar.TryResolve(id, out _));
        Assert.False(BudgetCalendar.TryResolve(new string('A', 10_000), out _));
    }

    [Fact]
    public void Windows_ids_resolve_exactly_when_the_runtime_can_map_them()
    {
        // Invariant globalization on Linux has no ICU to map Windows ids; Windows knows its own ids. Lint and
        // enforcement share the runtime, so what lint accepts is what enforcement resolves.
        var expected = OperatingSystem.IsWindows() || TimeZoneInfo.TryConvertWindowsIdToIanaId("Romance Standard Time", out _);

        Assert.Equal(expected, BudgetCalendar.TryResolve("Romance Standard Time", out _));
    }
}
