using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Linting;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Keeptrusts.Policy.Tests.Configuration.Schema;

/// <summary>
/// What the schema adds to lint, and what it must not repeat. Each row is one problem in an otherwise clean
/// document and must produce exactly one finding: KT1101 where only the schema knows the constraint, the binder's
/// or the rule's own code where they check it too.
/// </summary>
public class SchemaFindingsTests
{
    // Five lines; every case starts on line 6. content-filter and model-allowlist are left out of the chain because
    // without settings each rightly warns that it does nothing; rows that configure them also get KT2102, tolerated.
    private const string Header = """
        pack:
          name: schema-test
          version: 0.1.0
        policies:
          chain: [prompt-injection, pii-detector, spend-limit, embedding-detector, audit-logger]

        """;

    public static TheoryData<string, string, string, int, int> SchemaOnly() => new()
    {
        // case (after the header), expected code, path, line, column
        { "policy:\n  pii-detector:\n    action: delete", "KT1101", "policy.pii-detector.action", 8, 13 },
        { "policy:\n  pii-detector:\n    entities: [EMAIL_ADDRESS, EMAIL]", "KT1101", "policy.pii-detector.entities[1]", 8, 31 },
        { "policy:\n  pii-detector:\n    redaction_format: \"[X]\"", "KT1101", "policy.pii-detector.redaction_format", 8, 23 },
        { "policy:\n  pii-detector:\n    phases: []", "KT1101", "policy.pii-detector.phases", 8, 13 },
        { "policy:\n  pii-detector:\n    acton: block", "KT1102", "policy.pii-detector.acton", 8, 5 },
        { "policy:\n  prompt-injection:\n    threshold: 1.5", "KT1101", "policy.prompt-injection.threshold", 8, 16 },
        { "policy:\n  content-filter:\n    match_timeout_ms: 5000\n    input: { deny_keywords: [x] }", "KT1101", "policy.content-filter.match_timeout_ms", 8, 23 },
        { "policy:\n  content-filter:\n    case_sensitive: \"yes\"\n    input: { deny_keywords: [x] }", "KT1101", "policy.content-filter.case_sensitive", 8, 21 },
        { "policy:\n  content-filter:\n    input:\n      deny_keywords: bad\n    output: { deny_keywords: [x] }", "KT1101", "policy.content-filter.input.deny_keywords", 9, 22 },
        { "policy:\n  spend-limit:\n    max_daily_usd: -1", "KT1101", "policy.spend-limit.max_daily_usd", 8, 20 },
        { "policy:\n  embedding-detector:\n    secret_key_ref: { env: A, store: B }", "KT1101", "policy.embedding-detector.secret_key_ref", 8, 21 },
        { "policy:\n  embedding-detector:\n    secret_key_ref: {}", "KT1101", "policy.embedding-detector.secret_key_ref", 8, 21 },
        { "policy:\n  embedding-detector:\n    endpoint: embed.example.com", "KT1101", "policy.embedding-detector.endpoint", 8, 15 },
        { "policy:\n  embedding-detector:\n    timeout_ms: 0", "KT1101", "policy.embedding-detector.timeout_ms", 8, 17 },
        { "policy:\n  audit-logger:\n    retention_days: 0", "KT1101", "policy.audit-logger.retention_days", 8, 21 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      format: gemini", "KT1101", "providers.targets[0].format", 10, 15 },
    };

    public static TheoryData<string, string, string, int, int> ReportedByBinderOrRule() => new()
    {
        { "providers:\n  circuit_breaker:\n    failure_ratio: 1.5", "KT2304", "providers.circuit_breaker.failure_ratio", 8, 20 },
        { "providers:\n  circuit_breaker:\n    failure_ratio: 0", "KT2304", "providers.circuit_breaker.failure_ratio", 8, 20 },
        { "providers:\n  fallback:\n    max_fallback_attempts: 11", "KT2303", "providers.fallback.max_fallback_attempts", 8, 28 },
        { "providers:\n  health_check:\n    timeout_ms: 50", "KT2304", "providers.health_check.timeout_ms", 8, 17 },
        { "providers:\n  health_check:\n    path: v1/models", "KT2304", "providers.health_check.path", 8, 11 },
        { "providers:\n  targets:\n    - id: a\n      provider: foo", "KT2205", "providers.targets[0].provider", 9, 17 },
        { "providers:\n  targets:\n    - id: a\n      provider: webhook", "KT2202", "providers.targets[0].provider", 9, 17 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      base_url: ftp://example.com", "KT2206", "providers.targets[0].base_url", 10, 17 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      secret_key_ref: {}", "KT2204", "providers.targets[0].secret_key_ref", 10, 7 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      secret_key_ref: { env: A, store: B }", "KT2204", "providers.targets[0].secret_key_ref", 10, 7 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      pricing: { input_usd_per_million: -1 }", "KT1105", "providers.targets[0].pricing", 10, 7 },
        { "providers:\n  targets:\n    - id: a\n      provider: openai\n      weight: -1", "KT2304", "providers.targets[0].weight", 10, 15 },
        { "providers:\n  targets:\n    - provider: openai", "KT1104", "providers.targets[0].id", 8, 7 },
        { "providers:\n  routing:\n    strategy: fastest", "KT2302", "providers.routing.strategy", 8, 15 },
        { "providers:\n  fallbak: {}", "KT1102", "providers.fallbak", 7, 3 },
        { "providers:\n  fallback:\n    triggers: [rate_limit, teapot]", "KT2301", "providers.fallback.triggers[1]", 8, 28 },
        { "distributed_rate_limit:\n  backend: redis", "KT2402", "distributed_rate_limit.url_env", 7, 3 },
        { "distributed_rate_limit:\n  backend: memcached\n  url_env: X", "KT2401", "distributed_rate_limit.backend", 7, 12 },
        { "distributed_rate_limit:\n  backend: valkey\n  url_env: redis://cache:6379", "KT2402", "distributed_rate_limit.url_env", 8, 12 },
        { "distributed_rate_limit:\n  backend: valkey\n  url_env: X\n  requests_per_minute: 0", "KT1105", "distributed_rate_limit.requests_per_minute", 9, 24 },
        { "runtime_identity:\n  mode: jwt", "KT2501", "runtime_identity.mode", 7, 9 },
        { "runtime_identity:\n  gateway_keys:\n    - id: k\n      sha256: abc", "KT1105", "runtime_identity.gateway_keys[0].sha256", 9, 15 },
        { "runtime_identity:\n  gateway_keys:\n    - sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "KT1104", "runtime_identity.gateway_keys[0].id", 8, 7 },
        { "runtime_identity:\n  require_verified_identity: \"yes\"", "KT1103", "runtime_identity.require_verified_identity", 7, 30 },
        { "policy:\n  pii-detector:\n    mode: audit", "KT1105", "policy.pii-detector.mode", 8, 11 },
        { "policy:\n  \"acme.custom\":\n    mode: audit", "KT1105", "policy[\"acme.custom\"].mode", 8, 11 },
        { "policy:\n  pii-detector: [redact]", "KT1103", "policy.pii-detector", 7, 17 },
    };

    [Theory]
    [MemberData(nameof(SchemaOnly))]
    public void Schema_only_violations_are_reported_once_with_their_line(string snippet, string code, string path, int line, int column) =>
        AssertSingleFinding(snippet, code, path, line, column);

    [Theory]
    [MemberData(nameof(ReportedByBinderOrRule))]
    public void Violations_the_binder_or_a_rule_reports_are_not_repeated_by_the_schema(string snippet, string code, string path, int line, int column) =>
        AssertSingleFinding(snippet, code, path, line, column);

    [Theory]
    [InlineData("policy:\n  pii-detector:\n    mode: ENFORCE\n    action: Block")]
    [InlineData("policy:\n  audit-logger:\n    path: 42\n    retention_days: 0x10")]
    [InlineData("providers:\n  targets:\n    - id: 7\n      provider: OpenAI\n      model: ~\n      weight: 0x10")]
    [InlineData("policy:\n  audit-logger: ~")]
    [InlineData("distributed_rate_limit:\n  backend: REDIS\n  url_env: KEEPTRUSTS_REDIS_URL")]
    public void What_the_loader_accepts_the_schema_accepts(string snippet)
    {
        var result = PolicyConfigLoader.Parse(Header + snippet, "case.yaml");

        Assert.DoesNotContain(SchemaRelevant(result.Diagnostics), static d => d.Code is not DiagnosticCodes.PolicyNotInChain);
    }

    [Fact]
    public void Exactly_one_of_env_or_store_is_explained_both_ways()
    {
        var none = Single(Header + "policy:\n  embedding-detector:\n    secret_key_ref: {}");
        var both = Single(Header + "policy:\n  embedding-detector:\n    secret_key_ref: { env: A, store: B }");

        Assert.Contains("needs exactly one of 'env' or 'store'", none.Message, StringComparison.Ordinal);
        Assert.Contains("sets 'env' and 'store'; keep exactly one", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Range_and_enum_messages_name_the_limit_and_the_choices()
    {
        var range = Single(Header + "policy:\n  prompt-injection:\n    threshold: 1.5");
        var choice = Single(Header + "policy:\n  pii-detector:\n    action: redcat");

        Assert.Equal("'policy.prompt-injection.threshold' must be at most 1, found 1.5", range.Message);
        Assert.Equal("'redcat' is not allowed for 'policy.pii-detector.action'; expected one of: redact, block, warn; did you mean 'redact'?", choice.Message);
    }

    [Theory]
    [InlineData("""{"providers":{"targets":[{},{"provider":1}]}}""", "providers.targets[1].provider")]
    [InlineData("""{"policy":{"acme.custom":{"mode":1}}}""", "policy[\"acme.custom\"].mode")]
    [InlineData("""{"policy":{"it's":{"mode":1}}}""", "policy[\"it's\"].mode")]
    [InlineData("""{"policy":{"a b":{"x":[0,0,"two"]}}}""", "policy[\"a b\"].x[2]")]
    [InlineData("""{"policy":{"a]b['c":{"mode":1}}}""", "policy[\"a]b['c\"].mode")]
    [InlineData("""[]""", "")]
    public async Task Schema_errors_locate_the_failing_value_by_its_place_in_the_document(string json, string configPath)
    {
        var schema = await JsonSchema.FromJsonAsync("""
            {
              "type": "object",
              "properties": {
                "providers": { "type": "object", "properties": { "targets": { "type": "array", "items": { "type": "object", "properties": { "provider": { "type": "string" } } } } } },
                "policy": { "type": "object", "additionalProperties": { "type": "object", "properties": {
                  "mode": { "type": "string" }, "x": { "type": "array", "items": { "type": "integer" } } } } }
              }
            }
            """);

        var error = Assert.Single(Flat(schema.Validate(json)));

        Assert.Equal(configPath, SchemaValidator.ToConfigPath(SchemaValidator.ParsePath(error)));
    }

    [Theory]
    [InlineData("""{"targets":[{"id":"a"},{}]}""", "targets[1].id")]
    [InlineData("""{"targets":[{"id":"a","extra.key":1}]}""", "targets[0][\"extra.key\"]")]
    public async Task Missing_and_unknown_keys_end_their_path_with_the_key(string json, string configPath)
    {
        var schema = await JsonSchema.FromJsonAsync("""
            { "type": "object", "properties": { "targets": { "type": "array", "items": {
                "type": "object", "required": ["id"], "additionalProperties": false, "properties": { "id": { "type": "string" } } } } } }
            """);

        var error = Assert.Single(Flat(schema.Validate(json)));

        Assert.Equal(configPath, SchemaValidator.ToConfigPath(SchemaValidator.ParsePath(error)));
    }

    private static IEnumerable<ValidationError> Flat(IEnumerable<ValidationError> errors) =>
        errors.SelectMany(static e => e is ChildSchemaValidationError child && child.Errors.Count > 0
            ? Flat(child.Errors.Values.SelectMany(static inner => inner))
            : [e]);

    private static void AssertSingleFinding(string snippet, string code, string path, int line, int column)
    {
        var diagnostics = code.StartsWith("KT3", StringComparison.Ordinal)
            ? PolicyConfigLoader.Parse(Header + snippet, "case.yaml").Diagnostics
            : SchemaRelevant(PolicyConfigLoader.Parse(Header + snippet, "case.yaml").Diagnostics);
        var about = diagnostics.Where(d => d.Path == path || d.Path.StartsWith(path + ".", StringComparison.Ordinal) || d.Path.StartsWith(path + "[", StringComparison.Ordinal)).ToList();

        var finding = Assert.Single(about);
        Assert.Equal((code, path, line, column), (finding.Code, finding.Path, finding.Location.Line, finding.Location.Column));
        Assert.Equal(code == DiagnosticCodes.SchemaViolation ? 1 : 0, diagnostics.Count(static d => d.Code == DiagnosticCodes.SchemaViolation));
        Assert.DoesNotContain(diagnostics, d => d != finding && d.Code is not DiagnosticCodes.PolicyNotInChain);
    }

    private static ConfigDiagnostic Single(string yaml) =>
        Assert.Single(SchemaRelevant(PolicyConfigLoader.Parse(yaml, "case.yaml").Diagnostics));

    /// <summary>
    /// The header chains every built-in policy, whose own semantic checks (KT3xxx, e.g. "no deny examples") are
    /// tested with each policy; here only what the schema, the binder and the document rules say is compared.
    /// </summary>
    private static List<ConfigDiagnostic> SchemaRelevant(IEnumerable<ConfigDiagnostic> diagnostics) =>
        diagnostics.Where(static d => !d.Code.StartsWith("KT3", StringComparison.Ordinal)).ToList();
}
