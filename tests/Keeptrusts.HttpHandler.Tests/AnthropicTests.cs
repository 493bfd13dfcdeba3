using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Tests;

/// <summary>Anthropic Messages traffic through the handler: requests, answers and event streams.</summary>
public class AnthropicTests
{
    private static HttpClient Client(HttpMessageHandler provider, KeeptrustsPolicyOptions? options = null, PolicyEngine? engine = null) =>
        new(new KeeptrustsPolicyHandler(engine ?? Policies.Engine(), options) { InnerHandler = provider }) { BaseAddress = new Uri("http://anthropic.test/") };

    private static StringContent Request(string text, bool stream = false) => new(
        $$"""{"model":"claude-test","max_tokens":256,"stream":{{(stream ? "true" : "false")}},"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":{{System.Text.Json.JsonSerializer.Serialize(text)}}}]}]}""",
        Encoding.UTF8,
        "application/json");

    [Fact]
    public async Task The_provider_receives_the_redacted_request_and_every_other_byte_as_sent()
    {
        var provider = FakeProvider.AnthropicEcho();

        using var response = await Client(provider).PostAsync("v1/messages", Request("call 212-555-0188 or mail dan@example.com"));

        Assert.Equal(
            """{"model":"claude-test","max_tokens":256,"stream":false,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"call [REDACTED:PHONE_NUMBER] or mail [REDACTED:EMAIL_ADDRESS]"}]}]}""",
            provider.LastBody);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("call [REDACTED:PHONE_NUMBER] or mail [REDACTED:EMAIL_ADDRESS]", answer["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_blocked_request_gets_an_anthropic_error_and_is_not_sent()
    {
        var provider = FakeProvider.AnthropicEcho();

        using var response = await Client(provider).PostAsync("v1/messages", Request("the forbidden plan"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("error", body["type"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains("content-filter", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task An_answer_is_redacted_and_a_blocked_answer_becomes_an_anthropic_error()
    {
        var redacting = FakeProvider.AnthropicEcho(_ => "your card 4111 1111 1111 1111 is on file");
        var blocking = FakeProvider.AnthropicEcho(_ => "that is classified");

        using var redacted = await Client(redacting).PostAsync("v1/messages", Request("hi"));
        using var blocked = await Client(blocking).PostAsync("v1/messages", Request("hi"));

        Assert.Equal("your card [REDACTED:CREDIT_CARD] is on file", JsonNode.Parse(await redacted.Content.ReadAsStringAsync())!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Equal("content-filter", JsonNode.Parse(await blocked.Content.ReadAsStringAsync())!["error"]!["policy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tool_results_and_tool_inputs_are_governed()
    {
        var provider = FakeProvider.AnthropicEcho(_ => "ok");
        const string Body = """
            {"model":"claude-test","max_tokens":64,"messages":[
              {"role":"user","content":"look it up"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"crm","input":{"email":"eve@example.com","limit":3}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"owner: frank@example.com"}]}]}]}
            """;

        using var response = await Client(provider).PostAsync("v1/messages", new StringContent(Body, Encoding.UTF8, "application/json"));

        var sent = JsonNode.Parse(provider.LastBody)!["messages"]!;
        Assert.Equal("[REDACTED:EMAIL_ADDRESS]", sent[1]!["content"]![0]!["input"]!["email"]!.GetValue<string>());
        Assert.Equal(3, sent[1]!["content"]![0]!["input"]!["limit"]!.GetValue<int>());
        Assert.Equal("owner: [REDACTED:EMAIL_ADDRESS]", sent[2]!["content"]![0]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_streamed_answer_is_redacted_across_deltas_and_ends_as_anthropic_streams_do()
    {
        var provider = FakeProvider.AnthropicEcho(_ => "ping grace.hopper@example.com when ready", chunkSizes: [2]);

        using var response = await Client(provider).PostAsync("v1/messages", Request("hi", stream: true));
        var stream = await response.Content.ReadAsStringAsync();
        var types = SseText.Events(stream).Select(e => e.Type).ToList();

        Assert.Equal("ping [REDACTED:EMAIL_ADDRESS] when ready", SseText.Anthropic(stream));
        Assert.Equal("message_start", types[0]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], types.TakeLast(3));
        Assert.DoesNotContain("grace.hopper", stream, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_input_deltas_are_guarded_like_text()
    {
        var events = new StringBuilder();
        void Event(string type, string data) => events.Append("event: ").Append(type).Append("\ndata: ").Append(data).Append("\n\n");
        Event("message_start", """{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}""");
        Event("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"mail","input":{}}}""");
        foreach (var part in new[] { "{\\\"to\\\": \\\"hal", "@exam", "ple.com\\\"}" })
        {
            Event("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{{{part}}}"}}""");
        }

        Event("content_block_stop", """{"type":"content_block_stop","index":0}""");
        Event("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}""");
        Event("message_stop", """{"type":"message_stop"}""");
        var provider = new FakeProvider((_, _) => FakeProvider.Sse(events.ToString(), [11]));

        using var response = await Client(provider).PostAsync("v1/messages", Request("mail hal", stream: true));
        var json = string.Concat(SseText.Events(await response.Content.ReadAsStringAsync())
            .Select(e => JsonNode.Parse(e.Data)!)
            .Where(n => n["delta"]?["type"]?.GetValue<string>() == "input_json_delta")
            .Select(n => n["delta"]!["partial_json"]!.GetValue<string>()));

        Assert.Equal("[REDACTED:EMAIL_ADDRESS]", JsonNode.Parse(json)!["to"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_mid_stream_block_ends_with_an_anthropic_error_event()
    {
        var provider = FakeProvider.AnthropicEcho(_ => "this answer turns classified", chunkSizes: [3]);

        using var response = await Client(provider).SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = Request("hi", stream: true) }, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        await Assert.ThrowsAsync<KeeptrustsPolicyException>(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                text.Append(line).Append('\n');
            }
        });

        var last = SseText.Events(text.ToString()).Last();
        Assert.Equal("error", last.Type);
        Assert.Equal("content-filter", JsonNode.Parse(last.Data)!["error"]!["policy"]!.GetValue<string>());
        Assert.DoesNotContain("message_stop", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streamed_usage_settles_the_spend_reservation_at_the_actual_cost()
    {
        const string Yaml = """
            pack: { name: spend, version: 1.0.0 }
            policies:
              chain: [spend-limit]
            policy:
              spend-limit: { max_daily_usd: 1000 }
            providers:
              targets:
                - id: claude
                  provider: anthropic
                  model: claude-test
                  pricing: { input_usd_per_million: 1000000, output_usd_per_million: 1000000 }
            """;
        var store = new SettlementRecorder();
        var engineOptions = new PolicyEngineOptions { SpendStore = store };
        var engine = PolicyEngine.Create(Policies.Config(Yaml), engineOptions);
        var provider = FakeProvider.AnthropicEcho(chunkSizes: [4]);

        using var response = await Client(provider, engine: engine).PostAsync("v1/messages", Request("a short question", stream: true));
        _ = await response.Content.ReadAsStringAsync();

        // The stream reported 5 input and 7 output tokens at one dollar each.
        Assert.Equal(12m, Assert.Single(store.Settled));
    }

    /// <summary>A spend store with room for everything that records what is settled.</summary>
    private sealed class SettlementRecorder : Keeptrusts.Policy.Policies.ISpendStore
    {
        public List<decimal> Settled { get; } = [];

        public ValueTask<Keeptrusts.Policy.Policies.SpendReservationResult> TryReserveAsync(IReadOnlyList<Keeptrusts.Policy.Policies.SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new Keeptrusts.Policy.Policies.SpendReservationResult(new(Guid.NewGuid().ToString("N"), keys.Select(k => k.Key).ToArray(), amountUsd, day), null, 0m));

        public ValueTask SettleAsync(Keeptrusts.Policy.Policies.SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
        {
            Settled.Add(actualUsd);
            return ValueTask.CompletedTask;
        }

        public ValueTask ReleaseAsync(Keeptrusts.Policy.Policies.SpendReservation reservation, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken) => ValueTask.FromResult(0m);
    }
}
