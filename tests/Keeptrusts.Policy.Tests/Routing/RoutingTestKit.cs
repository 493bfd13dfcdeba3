using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

/// <summary>A provider client whose behaviour is a callback; it records every call in its factory's log.</summary>
internal sealed class TestProviderClient(string targetId, TestProviderClientFactory factory) : IProviderClient
{
    private int _sends;
    private int _probes;

    public string TargetId { get; } = targetId;

    public Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> OnSend { get; set; } =
        static (request, _) => ValueTask.FromResult(Responses.Ok(request.Model));

    public Func<string, CancellationToken, ValueTask<bool>> OnProbe { get; set; } = static (_, _) => ValueTask.FromResult(true);

    public int Sends => Volatile.Read(ref _sends);

    public int Probes => Volatile.Read(ref _probes);

    public ConcurrentQueue<ProviderRequest> Requests { get; } = new();

    public ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sends);
        Requests.Enqueue(request);
        factory.Calls.Enqueue(TargetId);
        return OnSend(request, cancellationToken);
    }

    public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _probes);
        factory.Probes.Enqueue(TargetId + " " + path);
        return OnProbe(path, cancellationToken);
    }
}

internal sealed class TestProviderClientFactory : IProviderClientFactory
{
    private readonly ConcurrentDictionary<string, TestProviderClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Target ids in the order completions were sent to them.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public ConcurrentQueue<string> Probes { get; } = new();

    public TestProviderClient this[string targetId] => _clients.GetOrAdd(targetId, id => new TestProviderClient(id, this));

    public IProviderClient Create(ProviderTarget target) => this[target.Id];

    /// <summary>Every client answers with <paramref name="send"/>.</summary>
    public void All(IEnumerable<string> ids, Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> send)
    {
        foreach (var id in ids)
        {
            this[id].OnSend = send;
        }
    }
}

/// <summary>Counts disposals of the responses it owns, to prove connections and slots are released.</summary>
internal sealed class DisposalCounter : IAsyncDisposable
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public ValueTask DisposeAsync()
    {
        Interlocked.Increment(ref _count);
        return ValueTask.CompletedTask;
    }
}

internal static class Responses
{
    public static ProviderResponse Ok(string model = "gpt-4o", IAsyncDisposable? owner = null) =>
        new(200, Encoding.UTF8.GetBytes($$"""{"id":"c1","object":"chat.completion","model":"{{model}}","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"""), owner: owner);

    public static ProviderResponse Status(int status, TimeSpan? retryAfter = null, IAsyncDisposable? owner = null) =>
        new(status, Encoding.UTF8.GetBytes($$$"""{"error":{"message":"upstream said {{{status}}}","type":"test","param":null,"code":"s{{{status}}}"}}"""), retryAfter: retryAfter, owner: owner);

    public static ValueTask<ProviderResponse> Answer(int status, TimeSpan? retryAfter = null) =>
        ValueTask.FromResult(status is >= 200 and < 300 ? Ok() : Status(status, retryAfter));

    public static ValueTask<ProviderResponse> Fail(ProviderFailureKind kind, string targetId = "t") =>
        ValueTask.FromException<ProviderResponse>(new ProviderException(kind, targetId, "simulated " + kind));

    /// <summary>
    /// Never answers; ends only when the attempt is cancelled (timeout, deadline, caller). Cancellation completes it
    /// inline (unlike <c>Task.Delay</c>, whose cancelled continuations are posted), so the manual clock stays in step.
    /// </summary>
    public static async ValueTask<ProviderResponse> Hang(CancellationToken cancellationToken)
    {
        var never = new TaskCompletionSource<ProviderResponse>();
        using var registration = cancellationToken.Register(() => never.TrySetCanceled(cancellationToken));
        return await never.Task.ConfigureAwait(false);
    }

    /// <summary>Answers 200 after <paramref name="delay"/> of the given clock.</summary>
    public static async ValueTask<ProviderResponse> After(TimeProvider time, TimeSpan delay, int status, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        return status is >= 200 and < 300 ? Ok() : Status(status);
    }

    public static ProviderResponse Stream(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, IAsyncDisposable? owner = null) =>
        new(200, ReadOnlyMemory<byte>.Empty, chunks, owner: owner);

    /// <summary>Chunks <c>{"n":i}</c> for each label, then optionally a failure; each chunk can wait on the clock first.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(
        string[] labels,
        ProviderFailureKind? failAfter = null,
        TimeProvider? time = null,
        TimeSpan? delayEach = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var label in labels)
        {
            if (time is not null && delayEach is { } delay)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return Encoding.UTF8.GetBytes($$"""{"chunk":"{{label}}"}""");
        }

        if (failAfter is { } kind)
        {
            throw new ProviderException(kind, "t", "simulated mid-stream " + kind);
        }
    }

    public static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>The error object of an OpenAI error body.</summary>
    public static (string Message, string Type, string Code) Error(ProviderResponse response)
    {
        using var json = JsonDocument.Parse(response.Body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        return (error.GetProperty("message").GetString()!, error.GetProperty("type").GetString()!, error.GetProperty("code").GetString()!);
    }
}

internal static class Routers
{
    public static ProviderTarget Target(string id, string? model = "gpt-4o", int weight = 1, int timeoutMs = 1_000, ModelPricing? pricing = null, params string[] models) => new()
    {
        Id = id,
        Provider = "openai",
        Model = model,
        Pricing = pricing,
        Models = [.. models.Select(static m => new ModelDefinition { Id = m })],
        Weight = weight,
        TimeoutMs = timeoutMs,
    };

    /// <summary>Targets a, b, c… serving gpt-4o with one-second timeouts; no breaker unless asked; small backoffs.</summary>
    public static ProvidersConfig Config(int targets = 3, RoutingStrategy strategy = RoutingStrategy.Ordered, FallbackConfig? fallback = null, CircuitBreakerConfig? breaker = null, HealthCheckConfig? health = null) => new()
    {
        Targets = [.. Enumerable.Range(0, targets).Select(static i => Target(((char)('a' + i)).ToString()))],
        Routing = new RoutingConfig { Strategy = strategy },
        Fallback = fallback ?? new FallbackConfig { MaxFallbackAttempts = 2, InitialBackoffMs = 100, MaxBackoffMs = 1_000, OverallTimeoutMs = 10_000 },
        CircuitBreaker = breaker ?? new CircuitBreakerConfig { Enabled = false },
        HealthCheck = health ?? new HealthCheckConfig(),
    };

    public static ProviderRouter Create(ProvidersConfig config, TestProviderClientFactory factory, ManualTime time, int maxConcurrency = 16, int? maxQueue = null, int seed = 7, System.Diagnostics.Metrics.IMeterFactory? meters = null) =>
        ProviderRouter.Create(config, factory, new ProviderRouterOptions
        {
            TimeProvider = time,
            MaxConcurrency = maxConcurrency,
            MaxQueueLength = maxQueue,
            RandomSeed = seed,
            MeterFactory = meters,
        });

    public static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}""");

    /// <summary>
    /// Runs a routed request to completion on the manual clock: while it waits, the clock jumps to the next timer.
    /// Fails when the request neither completes nor waits on the clock for a while (a hang). Runs on the thread pool,
    /// where continuations of the clock's timers run inline inside <see cref="ManualTime.Advance"/>, so every step is
    /// deterministic (the test thread's synchronization context would post them instead).
    /// </summary>
    public static Task<T> Drive<T>(ManualTime time, Func<ValueTask<T>> start) => Task.Run(async () =>
    {
        var task = start().AsTask();
        var idle = 0;
        while (!task.IsCompleted)
        {
            if (time.AdvanceToNext())
            {
                idle = 0;
                continue;
            }

            // Work that finishes on the thread pool (queue hand-offs) needs a moment of real time; a hang does not end.
            Assert.True(++idle < 2_000, "the request is stuck: it neither completes nor waits on the clock");
            await Task.Delay(5);
        }

        return await task;
    });

    public static Task<RouteResult> Send(ProviderRouter router, ManualTime time, RoutePlan? plan = null, bool stream = false, CancellationToken cancellationToken = default) =>
        Drive(time, () => router.SendAsync(plan ?? router.Plan("gpt-4o"), Body, stream, cancellationToken));

    /// <summary>Runs a test body on the thread pool, so that advancing the manual clock runs timer continuations inline.</summary>
    public static Task Pool(Func<Task> body) => Task.Run(body);

    /// <summary>Waits (in real time, bounded) for a condition that other threads make true.</summary>
    public static async Task Eventually(Func<bool> condition, string because)
    {
        for (var i = 0; i < 2_000 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition(), because);
    }
}
