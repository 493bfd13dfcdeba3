using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Tests.Policies.ToolGovernance;

/// <summary>tool-governance through the public engine: its rules, its size limits in chat exchanges, its records.</summary>
public class ToolGovernanceEngineTests
{
    private const string Yaml = """
        pack: {name: t, version: 1.0.0}
        policies:
          chain: [tool-governance]
        policy:
          tool-governance:
            allow: ["search_*", get_weather]
            deny: [search_admin*]
            on_violation: block
            max_argument_bytes: 64
            max_result_bytes: 128
        """;

    private static PolicyEngine Create(string yaml, RecordingSink? sink = null)
    {
        var result = PolicyConfigLoader.Parse(yaml);
        Assert.Empty(result.Diagnostics);
        var options = new PolicyEngineOptions();
        if (sink is not null)
        {
            options.Sinks.Add(sink);
        }

        return PolicyEngine.Create(result.Config!, options);
    }

    [Fact]
    public async Task The_engine_exposes_the_configured_rules()
    {
        await using var engine = Create(Yaml);

        var tools = engine.Tools;

        Assert.True(tools.IsConfigured && tools.IsEnforced);
        Assert.Equal((ToolViolationAction.Block, 64, 128), (tools.OnViolation, tools.MaxArgumentBytes, tools.MaxResultBytes));
        Assert.True(tools.Decide("search_docs").IsAllowed);
        Assert.False(tools.Decide("search_admin_users").IsAllowed);
        Assert.False(tools.Decide("delete_repo").IsAllowed);
    }

    [Fact]
    public async Task Without_the_policy_every_tool_is_allowed_with_default_limits()
    {
        await using var engine = Create("pack: {name: t, version: 1.0.0}");

        Assert.False(engine.Tools.IsConfigured);
        Assert.True(engine.Tools.Decide("anything").IsAllowed);
        Assert.Equal(ToolRules.DefaultMaxArgumentBytes, engine.Tools.MaxArgumentBytes);
    }

    [Fact]
    public async Task Monitor_mode_is_configured_but_not_enforced()
    {
        await using var engine = Create(Yaml.Replace("allow:", "mode: monitor\n    allow:", StringComparison.Ordinal));

        Assert.True(engine.Tools.IsConfigured);
        Assert.False(engine.Tools.IsEnforced);
    }

    [Fact]
    public async Task Oversized_tool_call_arguments_in_an_answer_are_blocked()
    {
        await using var engine = Create(Yaml);
        await using var exchange = engine.BeginExchange();
        var args = JsonSerializer.Serialize("{\"q\":\"" + new string('x', 100) + "\"}");
        var body = $$$"""{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"search_docs","arguments":{{{args}}}}}]},"finish_reason":"tool_calls"}]}""";

        var evaluation = await exchange.EvaluateResponseAsync(Encoding.UTF8.GetBytes(body));

        Assert.True(evaluation.IsBlocked);
        Assert.Equal(("tool_arguments_too_large", "tool-governance"), (evaluation.Record.Code, evaluation.Record.BlockedBy));
    }

    [Fact]
    public async Task An_oversized_tool_result_in_a_request_is_blocked_and_small_ones_pass()
    {
        await using var engine = Create(Yaml);
        await using var exchange = engine.BeginExchange();

        var big = await exchange.EvaluateTextsAsync(PolicyPhase.Input, [new ExchangeText("tool", ExchangeTextKind.ToolResult, 1, new string('é', 100))]);
        var small = await exchange.EvaluateTextsAsync(PolicyPhase.Input, [new ExchangeText("tool", ExchangeTextKind.ToolResult, 1, "sunny")]);

        Assert.Equal("tool_result_too_large", big.Record.Code);
        Assert.Contains("200 bytes", big.Record.Reason, StringComparison.Ordinal);
        Assert.False(small.IsBlocked);
    }

    [Fact]
    public async Task A_tool_decision_record_names_the_tool_and_target_and_never_the_arguments()
    {
        var sink = new RecordingSink();
        await using var engine = Create(Yaml, sink);
        await using var exchange = engine.BeginExchange(new RequestContext { TargetId = "docs-mcp", UserId = "u1" });

        var record = await exchange.RecordToolDecisionAsync(PolicyPhase.Input, "delete_repo", PolicyDecision.Block, engine.Tools.Decide("delete_repo").Reason, "tool_denied");

        Assert.Same(record, Assert.Single(sink.Records));
        Assert.Equal(("delete_repo", "docs-mcp", "u1", "tool-governance", 403), (record.ToolName, record.TargetId, record.UserId, record.BlockedBy, record.Status));
        Assert.Equal("tool-governance", Assert.Single(record.Policies).Policy);
    }

    [Theory]
    [InlineData("""{"city":"Paris","days":3}""", null)]
    [InlineData("""{"days":3}""", "$.city: required property is missing")]
    [InlineData("""{"city":42}""", "$.city: expected a string")]
    [InlineData("""{"city":"Paris","days":"three"}""", "$.days: expected an integer")]
    [InlineData("""{"city":"Paris","units":"kelvin"}""", "$.units: value is not one of the allowed values")]
    [InlineData("""{"city":"Paris","tags":["a",1]}""", "$.tags[1]: expected a string")]
    [InlineData("""{"city":"Paris","extra":true}""", "$.extra: property is not allowed by the schema")]
    public void Arguments_are_checked_against_the_input_schema_and_the_failing_path_is_named(string arguments, string? expected)
    {
        using var schemaDoc = JsonDocument.Parse("""
            {"type":"object","properties":{
              "city":{"type":"string"},
              "days":{"type":"integer"},
              "units":{"type":"string","enum":["metric","imperial"]},
              "tags":{"type":"array","items":{"type":"string"}}},
             "required":["city"],"additionalProperties":false}
            """);
        Assert.True(ToolArgumentSchema.TryCreate(schemaDoc.RootElement, out var schema, out _));
        using var args = JsonDocument.Parse(arguments);

        Assert.Equal(expected, schema!.Validate(args.RootElement));
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}""")]
    [InlineData("""[1,2]""")]
    public void Schemas_that_point_elsewhere_or_are_not_objects_are_refused(string schemaJson)
    {
        using var doc = JsonDocument.Parse(schemaJson);

        Assert.False(ToolArgumentSchema.TryCreate(doc.RootElement, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Argument_values_never_appear_in_a_schema_error()
    {
        using var schemaDoc = JsonDocument.Parse("""{"type":"object","properties":{"ssn":{"type":"integer"}}}""");
        Assert.True(ToolArgumentSchema.TryCreate(schemaDoc.RootElement, out var schema, out _));
        using var args = JsonDocument.Parse("""{"ssn":"123-45-6789"}""");

        var error = schema!.Validate(args.RootElement);

        Assert.NotNull(error);
        Assert.DoesNotContain("123-45-6789", error, StringComparison.Ordinal);
    }

    private sealed class RecordingSink : IDecisionSink
    {
        public List<DecisionRecord> Records { get; } = [];

        public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
        {
            lock (Records)
            {
                Records.Add(record);
            }

            return ValueTask.CompletedTask;
        }
    }
}
