using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.Providers.Tests.OpenAICompatible;

public sealed class OpenAIProviderClientTests
{
    private const string Completion = """{"id":"chatcmpl-1","object":"chat.completion","created":1741000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!","x_vendor":{"a":[1,2]}},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"service_tier":"default","x_unknown":  true}""";

    [Fact]
    public async Task Sends_the_body_byte_for_byte_except_the_model_and_returns_the_answer_unchanged()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl);
        const string body = "{ \"model\" : \"gpt-4o\",\n  \"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \u00e9\"}], \"metadata\":{\"model\":\"keep-me\"},\"x_future_field\":[1.50,{\"deep\":null}]  }";

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, body, model: "gpt-4o-mini"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(Completion, Targets.Text(response.Body));
        var sent = Encoding.UTF8.GetString(upstream.Single().Body);
        Assert.Equal(body.Replace("\"gpt-4o\"", "\"gpt-4o-mini\"", StringComparison.Ordinal), sent);
    }

    [Fact]
    public async Task Posts_to_v1_chat_completions_with_a_bearer_credential()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, """{"messages":[]}"""), Targets.Patience());

        var request = upstream.Single();
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/chat/completions", request.PathAndQuery);
        Assert.Equal("Bearer " + Targets.Key, request.Header("Authorization"));
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Equal("""{"model":"gpt-4o-mini","messages":[]}""", Encoding.UTF8.GetString(request.Body));
    }

    [Theory]
    [InlineData("", null, "/v1/chat/completions")]
    [InlineData("/v1", null, "/v1/chat/completions")]
    [InlineData("/v1/", null, "/v1/chat/completions")]
    [InlineData("/proxy", null, "/proxy/v1/chat/completions")]
    [InlineData("/openai", "/deployments/{model}/chat/completions?api-version=2024-10-21", "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21")]
    public async Task Builds_the_url_from_base_url_and_path_template(string basePath, string? pathTemplate, string expected)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl + basePath, pathTemplate: pathTemplate);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(expected, upstream.Single().PathAndQuery);
    }

    [Theory]
    [InlineData("api-key", "", "api-key", Targets.Key)]
    [InlineData("X-Upstream-Auth", "Token", "X-Upstream-Auth", "Token " + Targets.Key)]
    [InlineData(null, "Key", "Authorization", "Key " + Targets.Key)]
    public async Task Credential_header_and_prefix_follow_the_options(string? header, string? prefix, string expectedHeader, string expectedValue)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl);
        var options = Targets.Options(configure: o =>
        {
            o.ApiKeyHeader = header;
            o.ApiKeyPrefix = prefix;
        });

        await using var response = await Targets.Client(target, options).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(expectedValue, upstream.Single().Header(expectedHeader));
        if (expectedHeader != "Authorization")
        {
            Assert.Null(upstream.Single().Header("Authorization"));
        }
    }

    [Fact]
    public async Task Upstream_api_key_override_replaces_secret_key_ref()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl, secret: new SecretKeyRef { Env = "NOT_SET_ANYWHERE" });

        var client = Targets.Client(target, Targets.Options(configure: o => o.UpstreamApiKey = "sk-override-123456"));
        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal("Bearer sk-override-123456", upstream.Single().Header("Authorization"));
    }

    [Fact]
    public async Task A_target_without_secret_key_ref_sends_no_credential()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl) with { SecretKeyRef = null };

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Null(upstream.Single().Header("Authorization"));
    }

    [Fact]
    public async Task Streams_each_chunk_payload_without_framing_comments_or_done()
    {
        const string chunk1 = """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"x":1}""";
        const string chunk2 = """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]}""";
        const string chunk3 = """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}""";
        await using var upstream = await FakeUpstream.StreamAsync(
            ": keep-alive comment\n\n",
            "data: " + chunk1 + "\n\n",
            "event: message\r\ndata: " + chunk2[..30],
            chunk2[30..] + "\r\n\r\n",
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\ndata: \"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, """{"stream":true}""", stream: true), Targets.Patience());
        var chunks = await Targets.ReadChunksAsync(response);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal([chunk1, chunk2, chunk3.Replace("\"chat.completion.chunk\",", "\"chat.completion.chunk\",\n", StringComparison.Ordinal)], chunks);
        Assert.Equal("text/event-stream", upstream.Single().Header("Accept"));
    }

    [Fact]
    public async Task A_connection_drop_mid_stream_is_a_connection_reset()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"choices\":[]}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await received.Task.WaitAsync(FakeUpstream.Patience);
            context.Abort();
        });
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        received.SetResult();
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
        Assert.Equal("openai-primary", error.TargetId);
    }

    [Fact]
    public async Task A_stream_that_ends_without_done_is_a_connection_reset()
    {
        await using var upstream = await FakeUpstream.StreamAsync("data: {\"choices\":[]}\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
    }

    [Theory]
    [InlineData("data: {\"choices\":[]}\n\ndata: {\"choices\":[\n\n")]
    [InlineData("data: {\"choices\":[]}\n\ndata: [1,2]\n\n")]
    public async Task A_malformed_chunk_is_an_invalid_response(string sse)
    {
        await using var upstream = await FakeUpstream.StreamAsync(sse, "data: [DONE]\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task A_malformed_first_chunk_fails_the_attempt_itself()
    {
        await using var upstream = await FakeUpstream.StreamAsync("data: not json\n\n", "data: [DONE]\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task An_error_event_before_any_chunk_becomes_an_error_response()
    {
        const string errorEvent = """{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}""";
        await using var upstream = await FakeUpstream.StreamAsync("data: " + errorEvent + "\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(429, response.StatusCode);
        Assert.Null(response.Chunks);
        Assert.Equal(errorEvent, Targets.Text(response.Body));
    }

    [Fact]
    public async Task An_error_event_after_chunks_breaks_the_stream()
    {
        await using var upstream = await FakeUpstream.StreamAsync("data: {\"choices\":[]}\n\n", "data: {\"error\":{\"message\":\"server had an error\"}}\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
        Assert.Contains("server had an error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_ignores_stream_is_streamed_from_its_whole_answer()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, """{"stream":true,"stream_options":{"include_usage":true}}""", stream: true), Targets.Patience());
        var chunks = (await Targets.ReadChunksAsync(response)).Select(c => JsonDocument.Parse(c).RootElement).ToList();

        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("Hi!", string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(5, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"truncated\":")]
    public async Task A_2xx_body_that_is_not_a_json_object_is_an_invalid_response(string body)
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, body);
        var target = Targets.OpenAI(upstream.BaseUrl);

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
        Assert.Equal("openai-primary", error.TargetId);
    }

    [Fact]
    public async Task A_body_over_the_cap_is_an_invalid_response()
    {
        var large = "{\"pad\":\"" + new string('x', 5000) + "\"}";
        await using var upstream = await FakeUpstream.RespondAsync(200, large);
        var target = Targets.OpenAI(upstream.BaseUrl);
        var options = Targets.Options(configure: o => o.MaxResponseBytes = 4096);

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Targets.Client(target, options).SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task A_streamed_event_over_the_cap_is_an_invalid_response()
    {
        await using var upstream = await FakeUpstream.StreamAsync("data: {\"choices\":[]}\n\n", "data: {\"pad\":\"" + new string('x', 5000) + "\"}\n\n", "data: [DONE]\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);
        var options = Targets.Options(configure: o => o.MaxResponseBytes = 4096);

        await using var response = await Targets.Client(target, options).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task An_openai_error_is_returned_with_its_status_body_and_retry_after_seconds()
    {
        const string error = """{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
        await using var upstream = await FakeUpstream.RespondAsync(429, error, headers: r => r.Headers.RetryAfter = "7");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(429, response.StatusCode);
        Assert.False(response.IsSuccess);
        Assert.Equal(error, Targets.Text(response.Body));
        Assert.Equal(TimeSpan.FromSeconds(7), response.RetryAfter);
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_measured_from_the_clock()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var upstream = await FakeUpstream.RespondAsync(503, "{\"error\":{\"message\":\"busy\"}}", headers: r => r.Headers.RetryAfter = "Sat, 01 Mar 2025 12:00:30 GMT");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target, Targets.Options(time)).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(503, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), response.RetryAfter);
    }

    [Fact]
    public async Task A_non_json_error_body_is_wrapped_into_openai_error_json_with_the_same_status()
    {
        await using var upstream = await FakeUpstream.RespondAsync(502, "<html><body><h1>502 Bad Gateway</h1>\n</body></html>", "text/html");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(502, response.StatusCode);
        var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error");
        Assert.Contains("502 Bad Gateway", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("application/json", "{\"error\":{\"message\":\"Incorrect API key provided: " + Targets.Key + ".\",\"type\":\"invalid_request_error\"}}")]
    [InlineData("application/json", "{\"detail\":\"bad key " + Targets.Key + "\"}")]
    [InlineData("text/plain", "unauthorized: Bearer " + Targets.Key)]
    public async Task An_error_body_that_echoes_the_credential_does_not_leak_it(string contentType, string body)
    {
        await using var upstream = await FakeUpstream.RespondAsync(401, body, contentType);
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(401, response.StatusCode);
        var text = Targets.Text(response.Body);
        Assert.DoesNotContain(Targets.Key, text, StringComparison.Ordinal);
        Assert.Contains("[redacted]", text, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task A_request_body_that_is_not_a_json_object_is_answered_400_without_calling_the_upstream()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, Completion);
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "[1,2"), Targets.Patience());

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("invalid_request_error", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_refused_connection_is_connection_refused()
    {
        var port = FreePort();
        var target = Targets.OpenAI($"http://127.0.0.1:{port}");

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.ConnectionRefused, error.Kind);
        Assert.Equal("openai-primary", error.TargetId);
        Assert.DoesNotContain(Targets.Key, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_closed_before_the_answer_is_connection_reset()
    {
        await using var upstream = await FakeUpstream.StartAsync((context, _) =>
        {
            context.Abort();
            return Task.CompletedTask;
        });
        var target = Targets.OpenAI(upstream.BaseUrl);

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
    }

    [Fact]
    public async Task An_upstream_slower_than_the_attempt_timeout_is_a_timeout()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var upstream = await FakeUpstream.StartAsync((context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted));
        var target = Targets.OpenAI(upstream.BaseUrl);
        var client = Targets.Client(target, Targets.Options(time));

        var attempt = client.SendAsync(Targets.Request(target, "{}", timeout: TimeSpan.FromSeconds(5)), Targets.Patience()).AsTask();
        await upstream.FirstRequest.Task.WaitAsync(FakeUpstream.Patience);
        time.Advance(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<ProviderException>(() => attempt.WaitAsync(FakeUpstream.Patience));

        Assert.Equal(ProviderFailureKind.Timeout, error.Kind);
    }

    [Fact]
    public async Task A_stream_that_goes_quiet_for_the_timeout_is_a_timeout()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var firstSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"choices\":[]}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            firstSent.SetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        var target = Targets.OpenAI(upstream.BaseUrl);
        var client = Targets.Client(target, Targets.Options(time));

        await using var response = await client.SendAsync(Targets.Request(target, "{}", stream: true, timeout: TimeSpan.FromSeconds(5)), Targets.Patience());
        await using var chunks = response.Chunks!.GetAsyncEnumerator(Targets.Patience());
        Assert.True(await chunks.MoveNextAsync());
        var next = chunks.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<ProviderException>(() => next.WaitAsync(FakeUpstream.Patience));

        Assert.Equal(ProviderFailureKind.Timeout, error.Kind);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_reported_as_a_provider_failure()
    {
        await using var upstream = await FakeUpstream.StartAsync((context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted));
        var target = Targets.OpenAI(upstream.BaseUrl);
        using var cancel = new CancellationTokenSource();

        var attempt = Targets.Client(target).SendAsync(Targets.Request(target, "{}"), cancel.Token).AsTask();
        await upstream.FirstRequest.Task.WaitAsync(FakeUpstream.Patience);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => attempt.WaitAsync(FakeUpstream.Patience));
    }

    [Theory]
    [InlineData(200, "", "/v1/models", true, "/v1/models")]
    [InlineData(200, "/v1", "/v1/models", true, "/v1/models")]
    [InlineData(200, "", "/health", true, "/health")]
    [InlineData(503, "", "/v1/models", false, "/v1/models")]
    [InlineData(401, "", "/v1/models", false, "/v1/models")]
    public async Task Probe_gets_the_path_with_credentials_and_reports_2xx_as_healthy(int status, string basePath, string path, bool healthy, string expectedPath)
    {
        await using var upstream = await FakeUpstream.RespondAsync(status, "{\"data\":[]}");
        var target = Targets.OpenAI(upstream.BaseUrl + basePath);

        var result = await Targets.Client(target).ProbeAsync(path, Targets.Patience());

        Assert.Equal(healthy, result);
        var request = upstream.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal(expectedPath, request.PathAndQuery);
        Assert.Equal("Bearer " + Targets.Key, request.Header("Authorization"));
    }

    [Fact]
    public async Task Probe_of_an_unreachable_target_is_unhealthy()
    {
        var target = Targets.OpenAI($"http://127.0.0.1:{FreePort()}");

        Assert.False(await Targets.Client(target).ProbeAsync("/v1/models", Targets.Patience()));
    }

    [Fact]
    public async Task Redirects_are_not_followed_so_the_credential_stays_with_the_configured_host()
    {
        await using var elsewhere = await FakeUpstream.RespondAsync(200, Completion);
        await using var upstream = await FakeUpstream.RespondAsync(307, "", headers: r => r.Headers.Location = elsewhere.BaseUrl + "/v1/chat/completions");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(307, response.StatusCode);
        Assert.Empty(elsewhere.Requests);
    }

    [Fact]
    public async Task A_stream_can_be_enumerated_once()
    {
        await using var upstream = await FakeUpstream.StreamAsync("data: {\"choices\":[]}\n\n", "data: [DONE]\n\n");
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        await Targets.ReadChunksAsync(response);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Targets.ReadChunksAsync(response));
    }

    [Fact]
    public async Task Disposing_a_response_mid_stream_releases_the_upstream_connection()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync(async (context, _) =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"choices\":[]}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await aborted.Task.WaitAsync(FakeUpstream.Patience);
        });
        var target = Targets.OpenAI(upstream.BaseUrl);

        var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        await using (var chunks = response.Chunks!.GetAsyncEnumerator(Targets.Patience()))
        {
            Assert.True(await chunks.MoveNextAsync());
        }

        await response.DisposeAsync();

        await aborted.Task.WaitAsync(FakeUpstream.Patience);
    }

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
