using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.Providers.Tests.FaultMatrix;

/// <summary>
/// The router over the real OpenAI adapter and real sockets on 127.0.0.1: a faulty upstream ("flaky") declared first and
/// a good one ("steady") second. Each fault asserts which targets were tried in which order, what the caller got, and
/// what the router's metrics say.
/// </summary>
public class RouterFaultMatrixTests
{
    private const string SteadyAnswer = "steady-answer";
    // Long enough that a fresh server on a loaded machine answers in time; the slow upstream waits 15 s.
    private const int FlakyTimeoutMs = 3_000;
    private const int MaxResponseBytes = 64 * 1024;

    private static readonly string Completion = $$$"""{"id":"chatcmpl-1","object":"chat.completion","created":1741000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"{{{SteadyAnswer}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""";
    private static readonly string Chunk = $$$"""{"id":"c","object":"chat.completion.chunk","created":1741000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"{{{SteadyAnswer}}}"}}]}""";
    private static readonly string FlakyChunk = """{"id":"f","object":"chat.completion.chunk","created":1741000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"flaky-part"}}]}""";

    public static TheoryData<string, string> Faults() => new()
    {
        { "429 with Retry-After", "rate_limit" },
        { "429 without Retry-After", "rate_limit" },
        { "500", "server_error" },
        { "503", "server_error" },
        { "slow past the timeout", "timeout" },
        { "connection refused", "connection_refused" },
        { "connection reset mid-body", "connection_reset" },
        { "malformed JSON", "invalid_response" },
        { "empty 200", "invalid_response" },
        { "huge response", "invalid_response" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Each_fault_falls_back_to_the_next_target(string fault, string outcome)
    {
        await using var steady = await Steady();
        await using var flaky = await Flaky(fault);
        await using var router = Router(flaky.BaseUrl, steady.BaseUrl);

        await using var result = await router.SendAsync(router.Plan("gpt-4o"), Request(stream: false), false, Targets.Patience());

        Assert.Equal([("flaky", outcome), ("steady", "ok")], result.Attempts.Select(static a => (a.TargetId, a.Outcome)));
        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal("steady", result.TargetId);
        Assert.Contains(SteadyAnswer, Targets.Text(result.Response.Body), StringComparison.Ordinal);
        Assert.Equal(fault == "429 with Retry-After" ? TimeSpan.FromSeconds(1) : null, result.Attempts[0].RetryAfter);

        var metrics = router.GetMetrics();
        var flakyMetrics = metrics.Targets[0];
        Assert.Equal((1L, 0L, 1L), (flakyMetrics.Requests, flakyMetrics.Successes, flakyMetrics.Errors.Total));
        Assert.Equal(1, ErrorCount(flakyMetrics.Errors, outcome));
        Assert.Equal((1L, 1L, 0L), (metrics.Targets[1].Requests, metrics.Targets[1].Successes, metrics.Targets[1].Errors.Total));
        Assert.Equal(1, metrics.InFlight);
        Assert.Single(steady.Requests);
    }

    [Theory]
    [InlineData("429 without Retry-After", "rate_limit")]
    [InlineData("503", "server_error")]
    [InlineData("connection reset before the first chunk", "connection_reset")]
    [InlineData("slow past the timeout", "timeout")]
    public async Task A_stream_that_fails_before_its_first_chunk_falls_back(string fault, string outcome)
    {
        await using var steady = await Steady();
        await using var flaky = await Flaky(fault);
        await using var router = Router(flaky.BaseUrl, steady.BaseUrl);

        await using var result = await router.SendAsync(router.Plan("gpt-4o"), Request(stream: true), true, Targets.Patience());

        Assert.Equal([("flaky", outcome), ("steady", "ok")], result.Attempts.Select(static a => (a.TargetId, a.Outcome)));
        var chunks = await Targets.ReadChunksAsync(result.Response);
        Assert.Equal(2, chunks.Count);
        Assert.All(chunks, static c => Assert.Contains(SteadyAnswer, c, StringComparison.Ordinal));
        Assert.Equal(1, ErrorCount(router.GetMetrics().Targets[0].Errors, outcome));
    }

    [Fact]
    public async Task A_connection_reset_mid_stream_reaches_the_caller_and_never_switches_target()
    {
        await using var steady = await Steady();
        await using var flaky = await Flaky("connection reset mid-stream");
        await using var router = Router(flaky.BaseUrl, steady.BaseUrl);

        await using var result = await router.SendAsync(router.Plan("gpt-4o"), Request(stream: true), true, Targets.Patience());
        var seen = new List<string>();
        var failure = await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var chunk in result.Response.Chunks!.WithCancellation(Targets.Patience()))
            {
                seen.Add(Targets.Text(chunk));
            }
        });

        Assert.Equal("flaky", result.TargetId);
        Assert.Equal([("flaky", "ok")], result.Attempts.Select(static a => (a.TargetId, a.Outcome)));
        Assert.Contains("flaky-part", Assert.Single(seen), StringComparison.Ordinal);
        Assert.Equal(ProviderFailureKind.ConnectionReset, failure.Kind);
        Assert.Empty(steady.Requests);
        var metrics = router.GetMetrics().Targets;
        Assert.Equal((1L, 1L), (metrics[0].Successes, metrics[0].Errors.Stream));
        Assert.Equal(0, metrics[1].Requests);
    }

    [Fact]
    public async Task When_every_target_fails_the_caller_gets_a_502_that_names_each_target_and_what_happened()
    {
        await using var flaky = await Flaky("503");
        var refused = RawUpstream.ClosedPort();
        await using var router = Router(flaky.BaseUrl, refused);

        await using var result = await router.SendAsync(router.Plan("gpt-4o"), Request(stream: false), false, Targets.Patience());

        Assert.Equal(502, result.Response.StatusCode);
        Assert.True(result.IsSynthesized);
        using var json = JsonDocument.Parse(result.Response.Body);
        var message = json.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("'flaky' answered 503", message, StringComparison.Ordinal);
        Assert.Contains("'steady' refused the connection", message, StringComparison.Ordinal);
        Assert.DoesNotContain(Targets.Key, message, StringComparison.Ordinal);
        Assert.Equal("upstream_error", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_client_error_from_the_upstream_reaches_the_caller_as_it_was_without_fallback()
    {
        await using var steady = await Steady();
        await using var flaky = await FakeUpstream.RespondAsync(401, """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
        await using var router = Router(flaky.BaseUrl, steady.BaseUrl);

        await using var result = await router.SendAsync(router.Plan("gpt-4o"), Request(stream: false), false, Targets.Patience());

        Assert.Equal(401, result.Response.StatusCode);
        Assert.False(result.IsSynthesized);
        Assert.Contains("invalid_api_key", Targets.Text(result.Response.Body), StringComparison.Ordinal);
        Assert.Empty(steady.Requests);
        Assert.Equal(1, router.GetMetrics().Targets[0].Errors.ClientError);
    }

    [Fact]
    public async Task A_pinned_request_is_retried_on_its_target_only()
    {
        await using var steady = await Steady();
        await using var flaky = await Flaky("500");
        await using var router = Router(flaky.BaseUrl, steady.BaseUrl);

        await using var result = await router.SendAsync(router.Plan("gpt-4o", pinnedTarget: "flaky"), Request(stream: false), false, Targets.Patience());

        Assert.Equal(502, result.Response.StatusCode);
        Assert.Equal(["flaky", "flaky"], result.Attempts.Select(static a => a.TargetId));
        Assert.Equal(2, flaky.Requests.Count);
        Assert.Empty(steady.Requests);
    }

    private static ProviderRouter Router(string flakyUrl, string steadyUrl)
    {
        var config = new ProvidersConfig
        {
            Targets =
            [
                Targets.OpenAI(flakyUrl, "flaky") with { Model = "gpt-4o", TimeoutMs = FlakyTimeoutMs },
                Targets.OpenAI(steadyUrl, "steady") with { Model = "gpt-4o", TimeoutMs = 10_000 },
            ],
            Fallback = new FallbackConfig { MaxFallbackAttempts = 1, InitialBackoffMs = 0, MaxBackoffMs = 0, OverallTimeoutMs = 20_000 },

            // Breakers on, so every attempt goes through Polly, but never opening within one test.
            CircuitBreaker = new CircuitBreakerConfig { Enabled = true, MinimumThroughput = 100 },
        };
        var clients = ProviderClientFactory.Create(Targets.Options(configure: static o => o.MaxResponseBytes = MaxResponseBytes));
        return ProviderRouter.Create(config, clients, new ProviderRouterOptions { EnableHealthChecks = false });
    }

    private static ReadOnlyMemory<byte> Request(bool stream) =>
        Encoding.UTF8.GetBytes($$"""{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}],"stream":{{(stream ? "true" : "false")}}}""");

    /// <summary>A good upstream: a completion, or the same answer as a two-chunk stream when one is asked for.</summary>
    private static Task<FakeUpstream> Steady() => FakeUpstream.StartAsync(static async (context, request) =>
    {
        using var json = JsonDocument.Parse(request.Body);
        if (json.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync($"data: {Chunk}\n\ndata: {Chunk}\n\ndata: [DONE]\n\n", context.RequestAborted);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Completion, context.RequestAborted);
    });

    private static async Task<IFlaky> Flaky(string fault)
    {
        const string error = """{"error":{"message":"upstream trouble","type":"server_error","param":null,"code":null}}""";
        return fault switch
        {
            "429 with Retry-After" => new Http(await FakeUpstream.RespondAsync(429, error, headers: static r => r.Headers.RetryAfter = "1")),
            "429 without Retry-After" => new Http(await FakeUpstream.RespondAsync(429, error)),
            "500" => new Http(await FakeUpstream.RespondAsync(500, error)),
            "503" => new Http(await FakeUpstream.RespondAsync(503, error)),
            "slow past the timeout" => new Http(await FakeUpstream.StartAsync(static async (context, _) =>
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(15), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                await context.Response.WriteAsync(Completion);
            })),
            "connection refused" => new Closed(RawUpstream.ClosedPort()),
            "connection reset mid-body" => new Raw(RawUpstream.ResetAfter("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"id\":\"chatcmpl-1\",\"object\":\"chat.comp")),
            "connection reset before the first chunk" => new Raw(RawUpstream.ResetAfter("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n: keep-alive\n\n")),
            "connection reset mid-stream" => new Raw(RawUpstream.ResetAfter($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {FlakyChunk}\n\n")),
            "malformed JSON" => new Http(await FakeUpstream.RespondAsync(200, """{"id":"chatcmpl-1","choices":[{"index":0,"message":""")),
            "empty 200" => new Http(await FakeUpstream.RespondAsync(200, string.Empty)),
            "huge response" => new Http(await FakeUpstream.RespondAsync(200, Completion.Replace(SteadyAnswer, new string('x', 4 * MaxResponseBytes), StringComparison.Ordinal))),
            _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, "unknown fault"),
        };
    }

    private static long ErrorCount(TargetErrorCounts errors, string outcome) => outcome switch
    {
        "rate_limit" => errors.RateLimit,
        "server_error" => errors.ServerError,
        "timeout" => errors.Timeout,
        "connection_refused" or "connection_reset" => errors.Connection,
        "invalid_response" => errors.InvalidResponse,
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown outcome"),
    };

    /// <summary>A faulty upstream of any kind, with the requests it received where it can tell.</summary>
    private interface IFlaky : IAsyncDisposable
    {
        string BaseUrl { get; }

        int RequestCount { get; }

        IReadOnlyCollection<RecordedRequest> Requests { get; }
    }

    private sealed class Http(FakeUpstream upstream) : IFlaky
    {
        public string BaseUrl => upstream.BaseUrl;

        public int RequestCount => upstream.Requests.Count;

        public IReadOnlyCollection<RecordedRequest> Requests => upstream.Requests;

        public ValueTask DisposeAsync() => upstream.DisposeAsync();
    }

    private sealed class Raw(RawUpstream upstream) : IFlaky
    {
        public string BaseUrl => upstream.BaseUrl;

        public int RequestCount => upstream.Connections;

        public IReadOnlyCollection<RecordedRequest> Requests => [];

        public ValueTask DisposeAsync() => upstream.DisposeAsync();
    }

    private sealed class Closed(string baseUrl) : IFlaky
    {
        public string BaseUrl => baseUrl;

        public int RequestCount => 0;

        public IReadOnlyCollection<RecordedRequest> Requests => [];

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
