using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Tests.Policies.ToolGovernance;

/// <summary>tool-governance on OpenAI chat completions: offered tools, tool calls in answers, streamed tool calls.</summary>
public class ToolGovernanceChatTests
{
    private static PolicyEngine Create(string onViolation = "strip")
    {
        var result = PolicyConfigLoader.Parse($$"""
            pack: {name: t, version: 1.0.0}
            policies:
              chain: [tool-governance]
            policy:
              tool-governance:
                allow: ["search_*", get_weather]
                deny: [search_admin]
                on_violation: {{onViolation}}
            """);
        Assert.Empty(result.Diagnostics);
        return PolicyEngine.Create(result.Config!);
    }

    private static byte[] Request(params string[] tools) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["model"] = "gpt-4o",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "weather in Paris?" }),
        ["tools"] = new JsonArray([.. tools.Select(static t => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = t, ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""") },
        })]),
        ["tool_choice"] = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = tools[^1] } },
    }.ToJsonString());

    private static byte[] Answer(string name, string arguments) => Encoding.UTF8.GetBytes(
        """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"""
        + JsonSerializer.Serialize(name) + ",\"arguments\":" + JsonSerializer.Serialize(arguments) + "}}]},\"finish_reason\":\"tool_calls\"}]}");

    [Fact]
    public async Task Denied_offered_tools_are_stripped_and_a_choice_of_one_falls_back_to_auto()
    {
        await using var engine = Create();
        await using var exchange = engine.BeginExchange();

        var evaluation = await exchange.EvaluateRequestAsync(Request("get_weather", "drop_table", "search_admin"));

        Assert.False(evaluation.IsBlocked);
        var body = JsonNode.Parse(evaluation.Body.Span)!;
        Assert.Equal(["get_weather"], body["tools"]!.AsArray().Select(static t => (string)t!["function"]!["name"]!));
        Assert.Equal("auto", (string)body["tool_choice"]!);
    }

    [Fact]
    public async Task With_on_violation_block_a_denied_offered_tool_refuses_the_request()
    {
        await using var engine = Create("block");
        await using var exchange = engine.BeginExchange();

        var evaluation = await exchange.EvaluateRequestAsync(Request("get_weather", "search_admin"));

        Assert.True(evaluation.IsBlocked);
        Assert.Equal(("tool-governance", "tool_denied", "search_admin"), (evaluation.Record.BlockedBy, evaluation.Record.Code, evaluation.Record.ToolName));
    }

    [Fact]
    public async Task Requests_with_only_allowed_tools_pass_byte_for_byte()
    {
        await using var engine = Create();
        await using var exchange = engine.BeginExchange();
        var request = Request("get_weather", "search_docs");

        var evaluation = await exchange.EvaluateRequestAsync(request);

        Assert.Equal(request, evaluation.Body.ToArray());
    }

    [Theory]
    [InlineData("get_weather", """{"city":"Paris"}""", null)]
    [InlineData("drop_table", """{}""", "tool_denied")]
    [InlineData("get_weather", """{"city":7}""", "invalid_tool_arguments")]
    [InlineData("get_weather", """{"city":""", "invalid_tool_arguments")]
    public async Task Tool_calls_in_an_answer_are_checked_by_name_and_arguments(string name, string arguments, string? code)
    {
        await using var engine = Create();
        await using var exchange = engine.BeginExchange();
        await exchange.EvaluateRequestAsync(Request("get_weather"));

        var evaluation = await exchange.EvaluateResponseAsync(Answer(name, arguments));

        Assert.Equal(code, evaluation.Record.Code);
        Assert.Equal(code is not null, evaluation.IsBlocked);
    }

    [Fact]
    public async Task A_streamed_tool_call_naming_a_denied_tool_is_blocked_at_its_first_chunk()
    {
        await using var engine = Create();
        await using var exchange = engine.BeginExchange();
        await exchange.EvaluateRequestAsync(Request("get_weather"));
        var guard = new OpenAIStreamGuard(exchange);

        var step = await guard.ProcessAsync(Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"search_admin","arguments":""}}]}}]}"""));

        Assert.Equal(("tool-governance", "tool_denied"), (step.Blocked?.BlockedBy, step.Blocked?.Code));
        Assert.Empty(step.Emit);
    }

    [Fact]
    public async Task A_streamed_tool_call_with_invalid_arguments_is_blocked_when_the_stream_ends()
    {
        await using var engine = Create();
        await using var exchange = engine.BeginExchange();
        await exchange.EvaluateRequestAsync(Request("get_weather"));
        var guard = new OpenAIStreamGuard(exchange);

        var first = await guard.ProcessAsync(Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]}}]}"""));
        var second = await guard.ProcessAsync(Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":42}"}}]}}]}"""));
        var end = await guard.CompleteAsync();

        Assert.Null(first.Blocked);
        Assert.Null(second.Blocked);
        Assert.Equal("invalid_tool_arguments", end.Blocked?.Code);
        Assert.Contains("$.city", end.Blocked!.Reason, StringComparison.Ordinal);
    }
}
