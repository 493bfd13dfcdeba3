using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteConcurrencyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    [Fact]
    public Task A_full_queue_answers_503_with_retry_after_at_once_and_a_released_slot_serves_the_next_in_line() => Routers.Pool(async () =>
    {
        await using var router = Routers.Create(Routers.Config(4), _clients, _time, maxConcurrency: 1, maxQueue: 1);

        var holding = await router.SendAsync(Pin(router, "a"), Routers.Body, false, default);
        var waiting = router.SendAsync(Pin(router, "b"), Routers.Body, false, default).AsTask();
        await using var rejected = await router.SendAsync(Pin(router, "c"), Routers.Body, false, default);

        Assert.False(waiting.IsCompleted);
        Assert.Equal(503, rejected.Response.StatusCode);
        Assert.Equal("router_queue_full", Responses.Error(rejected.Response).Code);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.Response.RetryAfter);
        Assert.Equal(["a"], _clients.Calls);
        var metrics = router.GetMetrics();
        Assert.Equal((1, 1, 1L), (metrics.InFlight, metrics.Queued, metrics.QueueRejected));

        await holding.DisposeAsync();
        await using var served = await waiting.WaitAsync(Guard);
        Assert.Equal("b", served.TargetId);
        Assert.Equal(["a", "b"], _clients.Calls);
    });

    [Fact]
    public Task Waiting_requests_are_served_first_in_first_out() => Routers.Pool(async () =>
    {
        await using var router = Routers.Create(Routers.Config(4), _clients, _time, maxConcurrency: 1, maxQueue: 3);
        var holding = await router.SendAsync(Pin(router, "a"), Routers.Body, false, default);
        var queued = new List<Task<RouteResult>>();
        foreach (var id in new[] { "d", "b", "c" })
        {
            queued.Add(router.SendAsync(Pin(router, id), Routers.Body, false, default).AsTask());
            await Routers.Eventually(() => router.GetMetrics().Queued == queued.Count, "the request is queued");
        }

        await holding.DisposeAsync();
        foreach (var next in queued)
        {
            var result = await next.WaitAsync(Guard);
            await result.DisposeAsync();
        }

        Assert.Equal(["a", "d", "b", "c"], _clients.Calls);
    });

    [Fact]
    public Task Waiting_in_the_queue_counts_against_the_overall_deadline() => Routers.Pool(async () =>
    {
        await using var router = Routers.Create(Routers.Config(2), _clients, _time, maxConcurrency: 1);
        await using var holding = await router.SendAsync(Pin(router, "a"), Routers.Body, false, default);
        var waiting = router.SendAsync(Pin(router, "b"), Routers.Body, false, default).AsTask();

        _time.Advance(TimeSpan.FromSeconds(10));
        await using var result = await waiting.WaitAsync(Guard);

        Assert.Equal(504, result.Response.StatusCode);
        Assert.Contains("waiting for a free upstream slot", Responses.Error(result.Response).Message, StringComparison.Ordinal);
        Assert.Equal(["a"], _clients.Calls);
        Assert.Equal(0, router.GetMetrics().Queued);
    });

    [Fact]
    public Task A_caller_that_cancels_while_queued_leaves_the_queue() => Routers.Pool(async () =>
    {
        await using var router = Routers.Create(Routers.Config(2), _clients, _time, maxConcurrency: 1);
        await using var holding = await router.SendAsync(Pin(router, "a"), Routers.Body, false, default);
        using var cancel = new CancellationTokenSource();
        var waiting = router.SendAsync(Pin(router, "b"), Routers.Body, false, cancel.Token).AsTask();
        Assert.Equal(1, router.GetMetrics().Queued);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Guard));
        Assert.Equal(0, router.GetMetrics().Queued);
        Assert.Equal(["a"], _clients.Calls);
    });

    [Fact]
    public async Task Rate_limits_halve_the_concurrency_limit_down_to_one_and_successes_add_it_back_slowly()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(429);
        var config = Routers.Config(1, fallback: new FallbackConfig { MaxFallbackAttempts = 0 });
        await using var router = Routers.Create(config, _clients, _time, maxConcurrency: 8);

        var limits = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            await using var result = await Routers.Send(router, _time);
            limits.Add(router.GetMetrics().ConcurrencyLimit);
        }

        Assert.Equal([4, 2, 1, 1], limits);

        // Additive increase: +1/limit per success, so 1 → 2 takes one success and 2 → 3 three more (2.5, 2.9, 3.24).
        _clients["a"].OnSend = static (_, _) => Responses.Answer(200);
        limits.Clear();
        for (var i = 0; i < 4; i++)
        {
            await using var result = await Routers.Send(router, _time);
            limits.Add(router.GetMetrics().ConcurrencyLimit);
        }

        Assert.Equal([2, 2, 2, 3], limits);
        for (var i = 0; i < 100; i++)
        {
            await using var result = await Routers.Send(router, _time);
        }

        Assert.Equal(8, router.GetMetrics().ConcurrencyLimit);
    }

    [Fact]
    public Task A_burst_of_rate_limits_from_attempts_admitted_together_halves_the_limit_once() => Routers.Pool(async () =>
    {
        var release = new TaskCompletionSource();
        _clients["a"].OnSend = async (_, _) =>
        {
            await release.Task.ConfigureAwait(false);
            return Responses.Status(429);
        };
        var config = Routers.Config(1, fallback: new FallbackConfig { MaxFallbackAttempts = 0 });
        await using var router = Routers.Create(config, _clients, _time, maxConcurrency: 8);

        var first = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        var second = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        release.SetResult();
        await using (await first.WaitAsync(Guard))
        await using (await second.WaitAsync(Guard))
        {
        }

        Assert.Equal(4, router.GetMetrics().ConcurrencyLimit);
    });

    [Fact]
    public Task A_lowered_limit_makes_new_attempts_wait() => Routers.Pool(async () =>
    {
        var gate = new TaskCompletionSource();
        var calls = 0;
        _clients["a"].OnSend = async (_, _) =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return Responses.Status(429);
                case 2:
                    await gate.Task.ConfigureAwait(false);
                    return Responses.Ok();
                default:
                    return Responses.Ok();
            }
        };
        var config = Routers.Config(1, fallback: new FallbackConfig { MaxFallbackAttempts = 0 });
        await using var router = Routers.Create(config, _clients, _time, maxConcurrency: 2);
        await using (await router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default))
        {
        }

        Assert.Equal(1, router.GetMetrics().ConcurrencyLimit);
        var slow = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        var waiting = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();

        Assert.Equal(1, router.GetMetrics().Queued);
        Assert.Equal(2, calls);
        gate.SetResult();
        await using (await slow.WaitAsync(Guard))
        await using (await waiting.WaitAsync(Guard))
        {
        }

        Assert.Equal(3, calls);
    });

    private static RoutePlan Pin(ProviderRouter router, string target) => router.Plan("gpt-4o", pinnedTarget: target);
}
