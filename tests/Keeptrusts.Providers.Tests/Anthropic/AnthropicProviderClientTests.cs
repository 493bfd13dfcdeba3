using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Anthropic;

/// <summary>Round trips over recorded pairs: what the adapter sends for an OpenAI request, and what it makes of Anthropic's answer.</summary>
public sealed class AnthropicProviderClientTests
{
    private const string Model = "claude-sonnet-4-20250514";
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_741_000_000);

    [Theory]
    [InlineData("basic", false)]
    [InlineData("tools", true)]
    public async Task Translates_openai_requests_to_the_messages_api(string fixture, bool stream)
    {
        await using var upstream = stream
            ? await FakeUpstream.StreamAsync(Fixture("tool-use.anthropic-stream.sse"))
            : await FakeUpstream.RespondAsync(200, Fixture("text.anthropic-response.json"));
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, Fixture($"{fixture}.openai-request.json"), stream, Model), Targets.Patience());
        if (stream)
        {
            await Targets.ReadChunksAsync(response);
        }

        var request = upstream.Single();
        Assert.Equal("/v1/messages", request.PathAndQuery);
        Assert.Equal(Targets.Key, request.Header("x-api-key"));
        Assert.Equal("2023-06-01", request.Header("anthropic-version"));
        Assert.Null(request.Header("Authorization"));
        AssertJsonEqual(Fixture($"{fixture}.anthropic-request.json"), Encoding.UTF8.GetString(request.Body));
    }

    [Theory]
    [InlineData("text")]
    [InlineData("tool-use")]
    public async Task Translates_messages_to_chat_completions(string fixture)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Fixture($"{fixture}.anthropic-response.json"));
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, Fixture("basic.openai-request.json"), model: Model), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        AssertJsonEqual(Fixture($"{fixture}.openai-response.json"), Targets.Text(response.Body));
    }

    [Theory]
    [InlineData("text", false)]
    [InlineData("tool-use", true)]
    public async Task Translates_stream_events_to_chunks(string fixture, bool includeUsage)
    {
        await using var upstream = await FakeUpstream.StreamAsync(Fixture($"{fixture}.anthropic-stream.sse"));
        var target = AnthropicTarget(upstream.BaseUrl);
        var body = includeUsage ? """{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""" : """{"messages":[{"role":"user","content":"hi"}]}""";

        await using var response = await Client(target).SendAsync(Targets.Request(target, body, stream: true, model: Model), Targets.Patience());
        var chunks = await Targets.ReadChunksAsync(response);

        var expected = Fixture($"{fixture}.openai-chunks.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Length, chunks.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            AssertJsonEqual(expected[i], chunks[i]);
        }
    }

    [Fact]
    public async Task An_anthropic_error_becomes_openai_error_json_with_the_same_status()
    {
        await using var upstream = await FakeUpstream.RespondAsync(529, Fixture("overloaded.anthropic-error.json"), headers: r => r.Headers.RetryAfter = "3");
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", model: Model), Targets.Patience());

        Assert.Equal(529, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.RetryAfter);
        var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error");
        Assert.Equal("Overloaded", error.GetProperty("message").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
    }

    [Fact]
    public async Task An_error_body_that_is_not_anthropic_json_is_wrapped()
    {
        await using var upstream = await FakeUpstream.RespondAsync(503, "upstream connect error", "text/plain");
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", model: Model), Targets.Patience());

        Assert.Equal(503, response.StatusCode);
        Assert.Contains("upstream connect error", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_event_before_any_content_becomes_an_error_response()
    {
        await using var upstream = await FakeUpstream.StreamAsync("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", stream: true, model: Model), Targets.Patience());

        Assert.Equal(529, response.StatusCode);
        Assert.Null(response.Chunks);
        Assert.Equal("overloaded_error", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_error_event_mid_stream_breaks_the_stream()
    {
        var events = Fixture("text.anthropic-stream.sse");
        var cut = events.IndexOf("event: content_block_stop", StringComparison.Ordinal);
        await using var upstream = await FakeUpstream.StreamAsync(events[..cut], "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n");
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", stream: true, model: Model), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
        Assert.Contains("Internal server error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_before_message_stop_is_a_connection_reset()
    {
        var events = Fixture("text.anthropic-stream.sse");
        await using var upstream = await FakeUpstream.StreamAsync(events[..events.IndexOf("event: message_stop", StringComparison.Ordinal)]);
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", stream: true, model: Model), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
    }

    [Fact]
    public async Task A_2xx_body_that_is_not_a_message_is_an_invalid_response()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, """{"completion":"legacy"}""");
        var target = AnthropicTarget(upstream.BaseUrl);

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", model: Model), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task Max_tokens_defaults_when_the_request_sets_none()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Fixture("text.anthropic-response.json"));
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[{"role":"user","content":"hi"}]}""", model: Model), Targets.Patience());

        Assert.Equal(4096, JsonDocument.Parse(upstream.Single().Body).RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"n":2,"messages":[]}""", "n")]
    [InlineData("""{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"messages":[],"tools":[{"type":"retrieval"}]}""", "tools[0]")]
    [InlineData("""{"messages":"hello"}""", "messages")]
    [InlineData("""{"messages":[{"role":"function","name":"f","content":"x"}]}""", "messages[0].role")]
    public async Task A_request_the_format_cannot_express_is_answered_400_without_calling_the_upstream(string body, string param)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Fixture("text.anthropic-response.json"));
        var target = AnthropicTarget(upstream.BaseUrl);

        await using var response = await Client(target).SendAsync(Targets.Request(target, body, model: Model), Targets.Patience());

        Assert.Equal(400, response.StatusCode);
        var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("openai", "anthropic", "/v1/messages")]
    [InlineData("anthropic", "openai", "/v1/chat/completions")]
    [InlineData("anthropic:claude-agent-sdk", null, "/v1/messages")]
    public async Task Format_decides_the_wire_protocol(string family, string? format, string expectedPath)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, expectedPath == "/v1/messages" ? Fixture("text.anthropic-response.json") : "{}");
        var target = new ProviderTarget { Id = "t", Provider = family, Format = format, BaseUrl = upstream.BaseUrl, SecretKeyRef = new SecretKeyRef { Env = "TEST_ANTHROPIC_KEY" } };

        await using var response = await Client(target).SendAsync(Targets.Request(target, """{"messages":[]}""", model: Model), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(expectedPath, upstream.Single().PathAndQuery);
    }

    [Fact]
    public async Task An_explicit_credential_header_applies_to_anthropic_targets_too()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Fixture("text.anthropic-response.json"));
        var target = AnthropicTarget(upstream.BaseUrl);
        var options = Targets.Options(new ManualTime(Created), o => o.ApiKeyHeader = "Authorization");

        await using var response = await Targets.Client(target, options).SendAsync(Targets.Request(target, """{"messages":[]}""", model: Model), Targets.Patience());

        Assert.Equal(Targets.Key, upstream.Single().Header("Authorization"));
        Assert.Null(upstream.Single().Header("x-api-key"));
    }

    [Fact]
    public async Task Probe_gets_models_with_the_anthropic_headers()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, """{"data":[]}""");
        var target = AnthropicTarget(upstream.BaseUrl);

        Assert.True(await Client(target).ProbeAsync("/v1/models", Targets.Patience()));

        var request = upstream.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal(Targets.Key, request.Header("x-api-key"));
        Assert.Equal("2023-06-01", request.Header("anthropic-version"));
    }

    private static ProviderTarget AnthropicTarget(string baseUrl) => new()
    {
        Id = "anthropic-fallback",
        Provider = "anthropic",
        ProviderType = "anthropic",
        Format = "anthropic",
        BaseUrl = baseUrl,
        SecretKeyRef = new SecretKeyRef { Env = "TEST_ANTHROPIC_KEY" },
    };

    private static IProviderClient Client(ProviderTarget target) => Targets.Client(target, Targets.Options(new ManualTime(Created)));

    private static string Fixture(string name) => System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Anthropic", "Fixtures", name));

    private static void AssertJsonEqual(string expected, string actual)
    {
        var e = JsonNode.Parse(expected);
        var a = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(e, a), $"expected:\n{e?.ToJsonString()}\nactual:\n{a?.ToJsonString()}");
    }
}
