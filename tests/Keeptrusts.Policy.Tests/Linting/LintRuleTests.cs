using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Tests.Linting;

/// <summary>One row per rule: a document, the finding it must produce, and where.</summary>
public class LintRuleTests
{
    private const string Pack = "pack:\n  name: t\n  version: 1.0.0\n";

    public static TheoryData<string, string, string, string, int> Cases() => new()
    {
        // name, yaml, code, path, line
        { "yaml syntax", Pack + "policies:\n  chain: [a, b\n", "KT1001", "", 6 },
        { "invalid tag", "!!&[\n", "KT1001", "", 1 },
        { "empty", "", "KT1002", "", 0 },
        { "comment only", "# nothing\n", "KT1002", "", 0 },
        { "root is a list", "- a\n- b\n", "KT1003", "", 1 },
        { "root is a scalar", "hello\n", "KT1003", "", 1 },
        { "billion laughs", BillionLaughs(), "KT1004", "", 5 },
        { "deep nesting", new string('[', 10_000) + new string(']', 10_000) + "\n", "KT1005", "", 1 },
        { "two documents", Pack + "---\n" + Pack, "KT1006", "", 4 },
        { "duplicate key", Pack + "policies:\n  chain: []\n  chain: []\n", "KT1007", "", 6 },
        { "non-scalar key", Pack + "? [a]\n: b\n", "KT1008", "", 4 },
        { "unknown key with suggestion", Pack + "providers:\n  fallbak: {}\n", "KT1102", "providers.fallbak", 5 },
        { "unknown top-level key", Pack + "polices:\n  chain: []\n", "KT1102", "polices", 4 },
        { "wrong type", Pack + "providers:\n  fallback:\n    max_fallback_attempts: lots\n", "KT1103", "providers.fallback.max_fallback_attempts", 6 },
        { "list expected", Pack + "policies:\n  chain: pii-detector\n", "KT1103", "policies.chain", 5 },
        { "missing target id", Pack + "providers:\n  targets:\n    - provider: echo\n", "KT1104", "providers.targets[0].id", 6 },
        { "env reference", Pack + "providers:\n  targets:\n    - id: a\n      provider: openai\n      model: ${MODEL_NAME}\n", "KT1201", "providers.targets[0].model", 8 },
        { "invalid value", Pack + "runtime_identity:\n  mode: gateway_key\n  gateway_keys:\n    - id: ci\n      sha256: kt_gk_plaintext\n", "KT1105", "runtime_identity.gateway_keys[0].sha256", 8 },
        { "pack missing", "policies:\n  chain: []\n", "KT2001", "pack", 1 },
        { "pack name missing", "pack:\n  version: 1.0.0\n", "KT2002", "pack.name", 2 },
        { "pack name malformed", "pack:\n  name: Team Alpha!\n  version: 1.0.0\n", "KT2002", "pack.name", 2 },
        { "pack version missing", "pack:\n  name: t\n", "KT2003", "pack.version", 2 },
        { "pack version not semver", "pack:\n  name: t\n  version: 1.0\n", "KT2003", "pack.version", 3 },
        { "unknown policy", Pack + "policies:\n  chain: [pii-detecter]\n", "KT2101", "policies.chain[0]", 5 },
        { "settings not in chain", Pack + "policies:\n  chain: [pii-detector]\npolicy:\n  spend-limit:\n    max_daily_usd: 5\n", "KT2102", "policy.spend-limit", 7 },
        { "chain duplicate", Pack + "policies:\n  chain: [pii-detector, PII-Detector]\n", "KT2103", "policies.chain[1]", 5 },
        { "duplicate target id", Pack + "providers:\n  targets:\n    - {id: a, provider: echo}\n    - {id: A, provider: echo}\n", "KT2201", "providers.targets[1].id", 7 },
        { "rejected family", Pack + "providers:\n  targets:\n    - id: human\n      provider: manual-input\n", "KT2202", "providers.targets[0].provider", 7 },
        { "rejected go", Pack + "providers:\n  targets:\n    - id: g\n      provider: go\n", "KT2202", "providers.targets[0].provider", 7 },
        { "adapter without command", Pack + "providers:\n  targets:\n    - id: b\n      provider: browser\n", "KT2203", "providers.targets[0].provider", 7 },
        { "secret ref both", Pack + "providers:\n  targets:\n    - id: a\n      provider: openai\n      secret_key_ref: {env: A, store: B}\n", "KT2204", "providers.targets[0].secret_key_ref", 8 },
        { "secret ref neither", Pack + "providers:\n  targets:\n    - id: a\n      provider: openai\n      secret_key_ref: {}\n", "KT2204", "providers.targets[0].secret_key_ref", 8 },
        { "unknown family", Pack + "providers:\n  targets:\n    - id: a\n      provider: groq\n", "KT2205", "providers.targets[0].provider", 7 },
        { "bad base url", Pack + "providers:\n  targets:\n    - id: a\n      provider: openai\n      base_url: api.openai.com\n", "KT2206", "providers.targets[0].base_url", 8 },
        { "duplicate model", Pack + "providers:\n  targets:\n    - id: a\n      provider: openai\n      models: [{id: m}, {id: M}]\n", "KT2207", "providers.targets[0].models[1].id", 8 },
        { "mcp target without endpoint", Pack + "providers:\n  targets:\n    - id: tools\n      provider: mcp\n", "KT2208", "providers.targets[0].provider", 7 },
        { "unknown trigger", Pack + "providers:\n  fallback:\n    triggers: [rate_limit, bad_gateway]\n", "KT2301", "providers.fallback.triggers[1]", 6 },
        { "unknown strategy", Pack + "providers:\n  routing:\n    strategy: fastest\n", "KT2302", "providers.routing.strategy", 6 },
        { "attempts too many", Pack + "providers:\n  fallback:\n    max_fallback_attempts: 11\n", "KT2303", "providers.fallback.max_fallback_attempts", 6 },
        { "attempts negative", Pack + "providers:\n  fallback:\n    max_fallback_attempts: -1\n", "KT2303", "providers.fallback.max_fallback_attempts", 6 },
        { "breaker ratio", Pack + "providers:\n  circuit_breaker:\n    failure_ratio: 0\n", "KT2304", "providers.circuit_breaker.failure_ratio", 6 },
        { "health timeout", Pack + "providers:\n  health_check:\n    interval_ms: 2000\n    timeout_ms: 5000\n", "KT2304", "providers.health_check.timeout_ms", 7 },
        { "unknown backend", Pack + "distributed_rate_limit:\n  backend: memcached\n  url_env: X\n", "KT2401", "distributed_rate_limit.backend", 5 },
        { "url_env is a url", Pack + "distributed_rate_limit:\n  backend: redis\n  url_env: redis://localhost:6379\n", "KT2402", "distributed_rate_limit.url_env", 6 },
        { "url_env missing", Pack + "distributed_rate_limit:\n  backend: valkey\n", "KT2402", "distributed_rate_limit.url_env", 5 },
        { "memory on valkey without a connection", Pack + "memory:\n  backend: valkey\n", "KT2403", "memory.backend", 5 },
        { "key partition not a key part", Pack + "distributed_rate_limit:\n  backend: valkey\n  url_env: X\n  tenant: \"a:b\"\n", "KT1105", "distributed_rate_limit.tenant", 7 },
        { "memory budget out of range", Pack + "memory:\n  token_budget: 0\n", "KT1105", "memory.token_budget", 5 },
        { "dedup window out of range", Pack + "deduplication:\n  window_seconds: 0\n", "KT1105", "deduplication.window_seconds", 5 },
        { "unknown identity mode", Pack + "runtime_identity:\n  mode: mtls\n", "KT2501", "runtime_identity.mode", 5 },
        { "signed assertion without jwks", Pack + "runtime_identity:\n  mode: signed_assertion\n", "KT2502", "runtime_identity.mode", 5 },
        { "verified identity unreachable", Pack + "runtime_identity:\n  require_verified_identity: true\n", "KT2503", "runtime_identity.require_verified_identity", 5 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_reports_its_code_at_the_offending_node(string name, string yaml, string code, string path, int line)
    {
        var result = PolicyConfigLoader.Parse(yaml, "case.yaml");

        var finding = Assert.Single(result.Diagnostics, d => d.Code == code);
        Assert.Equal(path, finding.Path);
        Assert.Equal(line, finding.Location.Line);
        Assert.Equal("case.yaml", finding.Location.File);
        Assert.Equal(DiagnosticCodes.Catalog[code].Severity, finding.Severity);
        Assert.False(string.IsNullOrWhiteSpace(finding.Message), name);
        Assert.Equal(finding.Severity == DiagnosticSeverity.Error, result.Config is null);
    }

    [Fact]
    public void Every_code_in_the_catalog_has_a_case()
    {
        var covered = Cases().Select(row => (string)row[2]).ToHashSet();
        // File-level codes are covered by the loader tests; schema findings by the schema tests; each policy's
        // KT3xxx codes by the theory table in its own test folder (Policies/<Policy>/).
        // KT2601 comes from kt gateway run resolving store references through the control plane (GatewayHost's StoreReferenceTests).
        var fileLevel = new[] { "KT0001", "KT0002", "KT0003", "KT0004", "KT1101", "KT2601" };
        var missing = DiagnosticCodes.Catalog.Keys.Except(covered).Except(fileLevel).Where(static c => !c.StartsWith("KT3", StringComparison.Ordinal)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void All_findings_are_reported_at_once()
    {
        var yaml = "pack:\n  name: Bad Name\n  version: one\npolicies:\n  chain: [nope]\nproviders:\n  targets:\n    - {id: a, provider: go}\n    - {id: a, provider: echo}\n  routing:\n    strategy: fastest\n";

        var result = PolicyConfigLoader.Parse(yaml, "many.yaml");

        Assert.Equal(["KT2002", "KT2003", "KT2101", "KT2202", "KT2201", "KT2302"], result.Diagnostics.Select(d => d.Code));
    }

    [Fact]
    public void Unknown_key_suggests_the_closest_known_key()
    {
        var result = PolicyConfigLoader.Parse(Pack + "providers:\n  routing:\n    stratgy: ordered\n", "s.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Contains("did you mean 'strategy'?", finding.Message, StringComparison.Ordinal);
        Assert.Equal(DiagnosticSeverity.Warning, finding.Severity);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void Rejected_family_names_the_target_and_an_alternative()
    {
        var result = PolicyConfigLoader.Parse(Pack + "providers:\n  targets:\n    - id: hooks\n      provider: webhook\n", "w.yaml");

        var finding = Assert.Single(result.Diagnostics);
        Assert.Contains("'hooks'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("exec:", finding.Message, StringComparison.Ordinal);
        Assert.Contains("file://", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("valkey")]
    [InlineData("Valkey")]
    public void Redis_is_an_alias_of_valkey(string backend)
    {
        var result = PolicyConfigLoader.Parse(Pack + $"distributed_rate_limit:\n  backend: {backend}\n  url_env: KEEPTRUSTS_REDIS_URL\n");

        Assert.Empty(result.Diagnostics);
        Assert.Equal(RateLimitBackend.Valkey, result.Config!.DistributedRateLimit!.Backend);
    }

    [Theory]
    [InlineData("exec:python runner.py")]
    [InlineData("file://responses.jsonl")]
    [InlineData("echo")]
    [InlineData("anthropic:claude-agent-sdk")]
    [InlineData("vercel")]
    public void Supported_families_load_cleanly(string provider)
    {
        var result = PolicyConfigLoader.Parse(Pack + $"providers:\n  targets:\n    - id: t\n      provider: \"{provider}\"\n");

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void An_adapter_family_with_its_command_loads_cleanly()
    {
        var result = PolicyConfigLoader.Parse(Pack + "providers:\n  targets:\n    - id: w\n      provider: openai:chatkit:support\n      adapter_command: ./chatkit-runner\n");

        Assert.Empty(result.Diagnostics);
    }

    private static string BillionLaughs()
    {
        var sb = new System.Text.StringBuilder("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 10; i++)
        {
            var prev = (char)('a' + i - 1);
            var cur = (char)('a' + i);
            sb.Append(cur).Append(": &").Append(cur).Append(" [");
            sb.Append(string.Join(", ", Enumerable.Repeat("*" + prev, 10)));
            sb.Append("]\n");
        }

        return sb.ToString();
    }
}
