using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.ContentFilter;

/// <summary>One row per content-filter lint code: a document, the finding it must produce, and where.</summary>
public class ContentFilterLintTests
{
    // Five lines; the policy block starts on line 6 and its first setting is on line 7.
    private const string Header = "pack:\n  name: t\n  version: 1.0.0\npolicies:\n  chain: [content-filter]\npolicy:\n  content-filter:\n";

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, settings (after the header), code, path, line
        { "pattern does not compile", "    input:\n      deny_patterns: ['ok', '(unclosed']\n", "KT3301", "policy.content-filter.input.deny_patterns[1]", 9 },
        { "allow pattern does not compile", "    output:\n      deny_keywords: [x]\n      allow_patterns: ['a{2,1}']\n", "KT3301", "policy.content-filter.output.allow_patterns[0]", 10 },
        { "empty keyword", "    input:\n      deny_keywords: [bad, '']\n", "KT3302", "policy.content-filter.input.deny_keywords[1]", 9 },
        { "blank keyword", "    input:\n      deny_keywords: ['  ']\n", "KT3302", "policy.content-filter.input.deny_keywords[0]", 9 },
        { "empty pattern", "    output:\n      deny_patterns: ['']\n", "KT3302", "policy.content-filter.output.deny_patterns[0]", 9 },
        { "allow without deny", "    input:\n      deny_keywords: [x]\n    output:\n      allow_keywords: [fine]\n", "KT3303", "policy.content-filter.output", 10 },
        { "nothing configured", "    action: warn\n", "KT3304", "policy.content-filter", 7 },
        { "same keyword twice", "    input:\n      deny_keywords: [kill, bomb, KILL]\n", "KT3305", "policy.content-filter.input.deny_keywords[2]", 9 },
        { "keyword denied and allowed", "    input:\n      deny_keywords: [password]\n      allow_keywords: [Password]\n", "KT3305", "policy.content-filter.input.allow_keywords[0]", 10 },
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
    public void Every_content_filter_code_has_a_case()
    {
        var covered = Cases().Select(row => (string)row[2]).ToHashSet();

        Assert.Empty(DiagnosticCodes.Catalog.Keys.Where(static c => c.StartsWith("KT33", StringComparison.Ordinal)).Except(covered));
    }

    [Fact]
    public void A_policy_in_the_chain_without_settings_is_reported_as_doing_nothing()
    {
        var result = PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}\npolicies:\n  chain: [content-filter]\n", "c.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal("KT3304", finding.Code);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void An_invalid_pattern_quotes_the_regex_parser()
    {
        var result = PolicyConfigLoader.Parse(Header + "    input:\n      deny_patterns: ['[a-']\n", "c.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Contains("not a valid .NET regular expression", finding.Message, StringComparison.Ordinal);
        Assert.Contains("[a-", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Case_sensitive_keywords_differing_in_case_are_not_duplicates()
    {
        var result = PolicyConfigLoader.Parse(Header + "    case_sensitive: true\n    input:\n      deny_keywords: [Kill, kill]\n", "c.yaml");

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Lookarounds_and_backreferences_are_valid_patterns()
    {
        var result = PolicyConfigLoader.Parse(Header + "    input:\n      deny_patterns: ['(?<=key=)\\w+', '(\\w)\\1{3}', '(?>a+)b']\n", "c.yaml");

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Every_finding_is_reported_at_once()
    {
        var result = PolicyConfigLoader.Parse(Header + "    input:\n      deny_keywords: ['', x, x]\n      deny_patterns: ['(']\n    output:\n      allow_patterns: [ok]\n", "c.yaml");

        Assert.Equal(["KT3301", "KT3302", "KT3303", "KT3305"], result.Diagnostics.Select(static d => d.Code).Order(StringComparer.Ordinal));
    }
}
