using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using OpenAI.Chat;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class StreamingTests
{
    private const string StreamRequest = """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello"}]}""";

    [Fact]
    public async Task The_official_client_streams_the_answer()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in gateway.Chat().CompleteChatStreamingAsync([new UserChatMessage("Streaming works through the gateway.")], cancellationToken: Patience.Token()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
        }

        Assert.Equal("Streaming works through the gateway.", text.ToString());
        Assert.NotNull(usage);
    }

    [Fact]
    public async Task A_secret_split_across_chunks_never_reaches_the_client()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) => FakeUpstream.StreamChunks(http, request, ["Mail me at jo", "hn.smith@exa", "mple.org today"]);
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        var text = new StringBuilder();
        await foreach (var update in gateway.Chat().CompleteChatStreamingAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("Mail me at [REDACTED:EMAIL_ADDRESS] today", text.ToString());
    }

    [Fact]
    public async Task Usage_is_asked_for_upstream_and_stripped_when_the_caller_did_not_ask()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await ChatCompletionsTests.PostAsync(gateway, StreamRequest);
        using var sse = new SseClient(await response.Content.ReadAsStreamAsync());
        var (events, failure) = await sse.ReadAllAsync(Patience.Token());

        Assert.Null(failure);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonNode.Parse(Assert.Single(upstream.Bodies))!["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.All(events.SkipLast(1), e => Assert.Null(JsonNode.Parse(e.Data)!["usage"]));
        Assert.Equal("hello", string.Concat(events.SkipLast(1).Select(e => (string?)JsonNode.Parse(e.Data)!["choices"]?.AsArray().FirstOrDefault()?["delta"]?["content"])));
    }

    [Fact]
    public async Task Usage_reaches_a_caller_that_asked_for_it()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}""");
        using var sse = new SseClient(await response.Content.ReadAsStreamAsync());
        var (events, _) = await sse.ReadAllAsync(Patience.Token());

        var usage = events.SkipLast(1).Select(e => JsonNode.Parse(e.Data)!["usage"]).Single(u => u is not null);
        Assert.Equal(11, usage!["prompt_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_first_chunk_reaches_the_client_before_the_upstream_sends_the_rest()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = string.Join(' ', Enumerable.Repeat("word", 50));
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) =>
        {
            // Two writes: everything up to the second delta's event, then (once released) the rest.
            var sse = FakeUpstream.SseText(request, [first, " and the rest"]);
            var cut = sse.LastIndexOf("data: ", sse.IndexOf(" and the rest", StringComparison.Ordinal), StringComparison.Ordinal);
            return FakeUpstream.StreamRaw(http, sse, writeSizes: [cut, sse.Length], beforeWrite: piece => piece == 1 ? release.Task.WaitAsync(Patience.Limit) : Task.CompletedTask);
        };
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(StreamRequest, Encoding.UTF8, "application/json") };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Patience.Token());
        using var sse = new SseClient(await response.Content.ReadAsStreamAsync());
        string? content = null;
        while (content is not { Length: > 0 } && await sse.NextAsync(Patience.Token()) is { } next)
        {
            content = (string?)JsonNode.Parse(next.Data)!["choices"]![0]!["delta"]!["content"];
        }

        // Only now may the upstream go on: had the gateway buffered, no content could have arrived yet.
        Assert.StartsWith("word word", content, StringComparison.Ordinal);
        release.SetResult();
        var (rest, failure) = await sse.ReadAllAsync(Patience.Token());
        Assert.Null(failure);
        Assert.Equal("[DONE]", rest[^1].Data);
    }

    [Fact]
    public async Task A_block_mid_stream_ends_with_an_error_event_and_no_done()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) => FakeUpstream.StreamChunks(http, request, ["The plan is cla", "ssified, sorry"]);
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { output: { deny_keywords: [classified] } }"));

        using var response = await ChatCompletionsTests.PostAsync(gateway, StreamRequest);
        using var sse = new SseClient(await response.Content.ReadAsStreamAsync());
        var (events, failure) = await sse.ReadAllAsync(Patience.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var last = events[^1];
        Assert.Equal("error", last.Event);
        var error = JsonDocument.Parse(last.Data).RootElement.GetProperty("error");
        Assert.Equal("content-filter", error.GetProperty("policy").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
        Assert.DoesNotContain("classified", string.Concat(events.Select(e => e.Data)), StringComparison.Ordinal);
        Assert.NotNull(failure);
    }

    [Fact]
    public async Task The_official_client_raises_when_the_stream_is_blocked()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) => FakeUpstream.StreamChunks(http, request, ["The plan is cla", "ssified, sorry"]);
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { output: { deny_keywords: [classified] } }"));

        var text = new StringBuilder();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in gateway.Chat().CompleteChatStreamingAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }
        });

        // The OpenAI .NET client ignores error events; the aborted connection is what it raises on.
        Assert.NotNull(error);
        Assert.IsAssignableFrom<IOException>(error);
        Assert.DoesNotContain("classified", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_breaks_mid_stream_ends_with_a_server_error_event()
    {
        var firstForwarded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = async (http, request) =>
        {
            var sse = FakeUpstream.SseText(request, ["part one, ", "part two"]);
            await FakeUpstream.StreamRaw(http, sse[..(sse.IndexOf("part two", StringComparison.Ordinal) - 40)], writeSizes: null);

            // Break only once the first part has been forwarded: an abort discards whatever is still unsent.
            await firstForwarded.Task.WaitAsync(Patience.Limit);
            http.Abort();
        };
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await ChatCompletionsTests.PostAsync(gateway, StreamRequest);
        using var sse = new SseClient(await response.Content.ReadAsStreamAsync());
        var first = await sse.NextAsync(Patience.Token());
        firstForwarded.SetResult();
        var (events, _) = await sse.ReadAllAsync(Patience.Token());

        Assert.NotNull(first);
        var last = events[^1];
        Assert.Equal("error", last.Event);
        var error = JsonDocument.Parse(last.Data).RootElement.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_upstream_request()
    {
        var upstreamCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = async (http, request) =>
        {
            var first = string.Join(' ', Enumerable.Repeat("word", 40));
            var sse = FakeUpstream.SseText(request, [first]);
            await FakeUpstream.StreamRaw(http, sse[..(sse.IndexOf(first, StringComparison.Ordinal) + first.Length + 40)], writeSizes: null);
            try
            {
                await Task.Delay(Patience.Limit, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                upstreamCancelled.TrySetResult();
            }
        };
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(StreamRequest, Encoding.UTF8, "application/json") })
        using (var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Patience.Token()))
        using (var sse = new SseClient(await response.Content.ReadAsStreamAsync()))
        {
            Assert.NotNull(await sse.NextAsync(Patience.Token()));
        }

        // Disposing the response closed the connection; the gateway must pass that on at once.
        await upstreamCancelled.Task.Within();
    }

    [Fact]
    public async Task A_streamed_answer_is_remembered_as_the_caller_got_it_and_recalled_in_the_conversation()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) => request["stream"]?.GetValue<bool>() == true
            ? FakeUpstream.StreamChunks(http, request, ["Mail me at jo", "hn.smith@exa", "mple.org today"])
            : FakeUpstream.EchoCompletion(http, request);
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: "memory: { backend: in_process, scopes: [conversation], cache_seconds: 0 }"));

        async Task<string> SendAsync(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Conversation-ID", "conv-stream");
            using var response = await gateway.Http.SendAsync(request, Patience.Token());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }

        await SendAsync("""{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"where do I send it?"}]}""");
        await SendAsync("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"remind me"}]}""");

        var recalled = upstream.Bodies.Last();
        Assert.Contains("where do I send it?", recalled, StringComparison.Ordinal);
        Assert.Contains("Mail me at [REDACTED:EMAIL_ADDRESS] today", recalled, StringComparison.Ordinal);
        Assert.DoesNotContain("john.smith@example.org", recalled, StringComparison.Ordinal);
    }
}
