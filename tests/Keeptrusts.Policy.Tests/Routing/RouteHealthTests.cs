using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteHealthTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    private static HealthCheckConfig Active => new()
    {
        Enabled = true,
        IntervalMs = 1_000,
        TimeoutMs = 200,
        Path = "/v1/models",
        UnhealthyThreshold = 2,
        HealthyThreshold = 2,
    };

    [Fact]
    public async Task Consecutive_failures_mark_a_target_unhealthy_and_it_moves_behind_healthy_ones()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Routers.Create(Routers.Config(2, health: new HealthCheckConfig { UnhealthyThreshold = 3 }), _clients, _time);

        for (var i = 0; i < 3; i++)
        {
            await using var result = await Routers.Send(router, _time);
            Assert.Equal("b", result.TargetId);
        }

        Assert.False(router.GetMetrics().Targets[0].Healthy);
        _clients.Calls.Clear();
        await using (await Routers.Send(router, _time))
        {
        }

        Assert.Equal(["b"], _clients.Calls);
    }

    [Fact]
    public async Task An_unhealthy_target_is_still_tried_when_nothing_else_is_left_and_a_success_heals_it()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Routers.Create(Routers.Config(2, health: new HealthCheckConfig { UnhealthyThreshold = 2 }), _clients, _time);
        for (var i = 0; i < 2; i++)
        {
            await using var result = await Routers.Send(router, _time);
        }

        Assert.False(router.GetMetrics().Targets[0].Healthy);
        _clients["a"].OnSend = static (_, _) => Responses.Answer(200);
        _clients["b"].OnSend = static (_, _) => Responses.Answer(503);
        _clients.Calls.Clear();
        await using var fallback = await Routers.Send(router, _time);

        Assert.Equal(["b", "a"], _clients.Calls);
        Assert.Equal("a", fallback.TargetId);
        Assert.True(router.GetMetrics().Targets[0].Healthy);
    }

    [Fact]
    public async Task Rate_limits_and_client_errors_do_not_make_a_target_unhealthy()
    {
        _clients["a"].OnSend = Alternating(429, 400);
        await using var router = Routers.Create(Routers.Config(2, health: new HealthCheckConfig { UnhealthyThreshold = 1 }), _clients, _time);

        for (var i = 0; i < 6; i++)
        {
            await using var result = await Routers.Send(router, _time);
        }

        Assert.True(router.GetMetrics().Targets[0].Healthy);
    }

    [Fact]
    public async Task Without_active_probes_an_unhealthy_target_gets_its_place_back_after_the_interval()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        var health = new HealthCheckConfig { UnhealthyThreshold = 1, IntervalMs = 30_000 };
        await using var router = Routers.Create(Routers.Config(2, health: health), _clients, _time);
        await using (await Routers.Send(router, _time))
        {
        }

        _time.Advance(TimeSpan.FromSeconds(29));
        _clients.Calls.Clear();
        await using (await Routers.Send(router, _time))
        {
        }

        Assert.Equal(["b"], _clients.Calls);

        _time.Advance(TimeSpan.FromSeconds(1));
        _clients["a"].OnSend = static (_, _) => Responses.Answer(200);
        _clients.Calls.Clear();
        await using (await Routers.Send(router, _time))
        {
        }

        Assert.Equal(["a"], _clients.Calls);
        Assert.True(router.GetMetrics().Targets[0].Healthy);
    }

    [Fact]
    public Task Active_probes_mark_a_target_unhealthy_after_the_threshold_and_healthy_after_theirs() => Routers.Pool(async () =>
    {
        var up = false;
        _clients["a"].OnProbe = (_, _) => ValueTask.FromResult(up);
        await using var router = Routers.Create(Routers.Config(2, health: Active), _clients, _time);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(router.GetMetrics().Targets[0].Healthy);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(router.GetMetrics().Targets[0].Healthy);

        await using (var skipped = await router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default))
        {
            Assert.Equal("b", skipped.TargetId);
        }

        up = true;
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(router.GetMetrics().Targets[0].Healthy);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(router.GetMetrics().Targets[0].Healthy);

        Assert.Equal(4, _clients["a"].Probes);
        Assert.All(_clients.Probes, static p => Assert.EndsWith(" /v1/models", p, StringComparison.Ordinal));
        Assert.Equal(1, _clients["b"].Sends);
        Assert.Equal(0, _clients["a"].Sends);
    });

    [Fact]
    public Task A_probe_that_passes_its_timeout_or_throws_is_a_failed_probe() => Routers.Pool(async () =>
    {
        _clients["a"].OnProbe = static (_, ct) => new ValueTask<bool>(HangProbe(ct));
        _clients["b"].OnProbe = static (_, _) => ValueTask.FromException<bool>(new HttpRequestException("boom"));
        await using var router = Routers.Create(Routers.Config(2, health: Active), _clients, _time);

        _time.Advance(TimeSpan.FromMilliseconds(1_200));
        _time.Advance(TimeSpan.FromMilliseconds(1_000));

        var targets = router.GetMetrics().Targets;
        Assert.False(targets[0].Healthy);
        Assert.False(targets[1].Healthy);
        Assert.Equal(2, _clients["a"].Probes);
    });

    [Fact]
    public Task Probes_stop_when_the_router_is_disposed() => Routers.Pool(async () =>
    {
        var router = Routers.Create(Routers.Config(1, health: Active), _clients, _time);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _clients["a"].Probes);

        await router.DisposeAsync();
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, _clients["a"].Probes);
        Assert.Equal(0, _time.ActiveTimers);
    });

    [Fact]
    public Task Probes_do_not_run_when_the_host_turns_them_off() => Routers.Pool(async () =>
    {
        await using var router = ProviderRouter.Create(Routers.Config(1, health: Active), _clients, new ProviderRouterOptions { TimeProvider = _time, EnableHealthChecks = false });

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, _clients["a"].Probes);
    });

    private static async Task<bool> HangProbe(CancellationToken cancellationToken)
    {
        var never = new TaskCompletionSource<bool>();
        using var registration = cancellationToken.Register(() => never.TrySetCanceled(cancellationToken));
        return await never.Task.ConfigureAwait(false);
    }

    private static Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> Alternating(int first, int second)
    {
        var calls = 0;
        return (_, _) => Responses.Answer(Interlocked.Increment(ref calls) % 2 == 1 ? first : second);
    }
}
