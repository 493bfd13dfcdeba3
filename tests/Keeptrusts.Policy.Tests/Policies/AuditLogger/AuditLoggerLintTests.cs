using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

/// <summary>One row per audit-logger lint rule: a document, the finding it must produce, and where.</summary>
public sealed class AuditLoggerLintTests
{
    private const string Head = "pack:\n  name: t\n  version: 1.0.0\npolicies:\n  chain: [audit-logger]\npolicy:\n  audit-logger:\n";

    private static readonly string Existing = Path.GetTempPath();

    private static readonly string Missing = Path.Combine(Path.GetTempPath(), "kt-absent-" + Guid.NewGuid().ToString("N"), "audit.jsonl");

    private static string Usable => Path.Combine(Existing, "kt-audit-lint.jsonl");

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, yaml, code, path, line
        { "immutable without retention", Head + $"    immutable: true\n    path: '{Usable}'\n", "KT3701", "policy.audit-logger.immutable", 8 },
        { "directory missing", Head + $"    retention_days: 30\n    path: '{Missing}'\n", "KT3702", "policy.audit-logger.path", 9 },
        { "path is a directory", Head + $"    path: '{Existing}'\n", "KT3703", "policy.audit-logger.path", 8 },
        { "path ends in a separator", Head + $"    path: '{Path.Combine(Existing, "not-there")}{Path.DirectorySeparatorChar}'\n", "KT3703", "policy.audit-logger.path", 8 },
        { "retention above ten years", Head + $"    retention_days: 3651\n    path: '{Usable}'\n", "KT3704", "policy.audit-logger.retention_days", 8 },
        { "empty path", Head + "    path: ''\n", "KT3705", "policy.audit-logger.path", 8 },
        { "blank path", Head + "    path: '   '\n", "KT3705", "policy.audit-logger.path", 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_reports_its_code_at_the_offending_key(string name, string yaml, string code, string path, int line)
    {
        var result = PolicyConfigLoader.Parse(yaml, "audit.yaml");

        var finding = LintAssert.SingleFinding(result, code, path, line, name);
        Assert.Equal(finding.Severity == DiagnosticSeverity.Error, result.Config is null);
    }

    [Fact]
    public void Every_audit_logger_code_has_a_case()
    {
        var covered = Cases().Select(static row => (string)row[2]).ToHashSet();

        Assert.Empty(DiagnosticCodes.Catalog.Keys.Where(static c => c.StartsWith("KT37", StringComparison.Ordinal)).Except(covered));
    }

    [Theory]
    [InlineData("    immutable: true\n    retention_days: 365\n    log_all_access: true\n")]
    [InlineData("    immutable: false\n")]
    [InlineData("    retention_days: 3650\n")]
    public void Sensible_settings_have_no_findings(string settings)
    {
        var result = PolicyConfigLoader.Parse(Head + settings + $"    path: '{Usable}'\n");

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void The_policy_in_the_chain_without_settings_lints_cleanly()
    {
        var result = PolicyConfigLoader.Parse("pack:\n  name: t\n  version: 1.0.0\npolicies:\n  chain: [audit-logger]\n");

        Assert.DoesNotContain(result.Diagnostics, static d => d.Code.StartsWith("KT37", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("    retention_days: 0\n", "policy.audit-logger.retention_days")]
    [InlineData("    retention_days: a year\n", "policy.audit-logger.retention_days")]
    [InlineData("    immutable: sometimes\n", "policy.audit-logger.immutable")]
    [InlineData("    retention: 30\n", "policy.audit-logger.retention")]
    public void Wrong_types_and_unknown_keys_are_reported_at_the_key(string settings, string path)
    {
        var result = PolicyConfigLoader.Parse(Head + settings);

        Assert.Contains(result.Diagnostics, d => d.Path == path);
    }
}
