using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteBreakerTests
{
    private static readonly CircuitBreakerConfig Breaker = new()
    {
        Enabled = true,
        FailureRatio = 0.5,
        MinimumThroughput = 2,
        SamplingDurationMs = 10_000,
        BreakDurationMs = 5_000,
    };

    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    private ProviderRouter Router(int targets = 1) => Routers.Create(
        Routers.Config(targets, breaker: Breaker, fallback: new FallbackConfig { MaxFallbackAttempts = 0 }),
        _clients,
        _time);

    [Fact]
    public async Task Failures_open_the_breaker_and_an_open_target_is_not_called()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Router();

        await Send(router, 2);
        Assert.Equal(TargetBreakerState.Open, router.GetMetrics().Targets[0].BreakerState);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(2, _clients["a"].Sends);
        Assert.Equal(503, result.Response.StatusCode);
        Assert.True(result.IsSynthesized);
        Assert.Empty(result.Attempts);
        var error = Responses.Error(result.Response);
        Assert.Equal("no_healthy_target", error.Code);
        Assert.Contains("'a' skipped: circuit breaker open", error.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(5), result.Response.RetryAfter);
    }

    [Fact]
    public async Task Retry_after_of_the_all_open_answer_counts_down_to_the_first_half_open_and_is_at_least_one_second()
    {
        _clients.All(["a", "b"], static (_, _) => Responses.Answer(500));
        await using var router = Router(2);
        await Send(router, 2, Plan(router, "a"));
        _time.Advance(TimeSpan.FromSeconds(2));
        await Send(router, 2, Plan(router, "b"));

        await using (var first = await Routers.Send(router, _time))
        {
            // a half-opens in 3 s, b in 5 s.
            Assert.Equal(TimeSpan.FromSeconds(3), first.Response.RetryAfter);
        }

        _time.Advance(TimeSpan.FromMilliseconds(2_900));
        await using var last = await Routers.Send(router, _time);
        Assert.Equal(TimeSpan.FromSeconds(1), last.Response.RetryAfter);
    }

    [Fact]
    public async Task After_the_break_one_probe_goes_through_and_its_success_closes_the_breaker()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Router();
        await Send(router, 2);

        _time.Advance(TimeSpan.FromSeconds(5));
        _clients["a"].OnSend = static (_, _) => Responses.Answer(200);
        await using var probe = await Routers.Send(router, _time);

        Assert.Equal(200, probe.Response.StatusCode);
        Assert.Equal(3, _clients["a"].Sends);
        Assert.Equal(TargetBreakerState.Closed, router.GetMetrics().Targets[0].BreakerState);
    }

    [Fact]
    public async Task A_failed_probe_opens_the_breaker_for_another_break()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(503);
        await using var router = Router();
        await Send(router, 2);

        _time.Advance(TimeSpan.FromSeconds(5));
        await using (var probe = await Routers.Send(router, _time))
        {
            // The upstream's 503 is a fallback trigger; with no attempt left the router reports a bad gateway.
            Assert.Equal(502, probe.Response.StatusCode);
        }

        Assert.Equal(TargetBreakerState.Open, router.GetMetrics().Targets[0].BreakerState);
        await using var skipped = await Routers.Send(router, _time);
        Assert.Equal(3, _clients["a"].Sends);
        Assert.Equal(TimeSpan.FromSeconds(5), skipped.Response.RetryAfter);
    }

    [Fact]
    public Task While_the_probe_is_in_flight_other_requests_skip_the_target() => Routers.Pool(async () =>
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Router(2);
        await Send(router, 2, Plan(router, "a"));
        _time.Advance(TimeSpan.FromSeconds(5));

        _clients["a"].OnSend = static (_, ct) => Responses.Hang(ct);
        var probe = router.SendAsync(Plan(router, "a"), Routers.Body, false, default).AsTask();
        Assert.Equal(TargetBreakerState.HalfOpen, router.GetMetrics().Targets[0].BreakerState);

        await using var other = await router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default);
        Assert.Equal("b", other.TargetId);
        Assert.Equal(3, _clients["a"].Sends);

        _time.Advance(TimeSpan.FromSeconds(1));
        await using var timedOut = await probe;
        Assert.Equal(504, timedOut.Response.StatusCode);
        Assert.Equal(TargetBreakerState.Open, router.GetMetrics().Targets[0].BreakerState);
    });

    [Fact]
    public async Task An_open_target_is_skipped_in_favour_of_a_closed_one()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Router(2);
        await Send(router, 2, Plan(router, "a"));

        _clients.Calls.Clear();
        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["b"], _clients.Calls);
        Assert.Equal("b", result.TargetId);
    }

    [Fact]
    public async Task Client_errors_never_open_the_breaker()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(400);
        await using var router = Router();

        await Send(router, 10);

        Assert.Equal(10, _clients["a"].Sends);
        Assert.Equal(TargetBreakerState.Closed, router.GetMetrics().Targets[0].BreakerState);
    }

    [Fact]
    public async Task Breakers_can_be_disabled()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        await using var router = Routers.Create(Routers.Config(1, fallback: new FallbackConfig { MaxFallbackAttempts = 0 }), _clients, _time);

        await Send(router, 10);

        Assert.Equal(10, _clients["a"].Sends);
        Assert.Equal(TargetBreakerState.Closed, router.GetMetrics().Targets[0].BreakerState);
    }

    private static RoutePlan Plan(ProviderRouter router, string target) => router.Plan("gpt-4o", pinnedTarget: target);

    private async Task Send(ProviderRouter router, int times, RoutePlan? plan = null)
    {
        for (var i = 0; i < times; i++)
        {
            await using var result = await Routers.Send(router, _time, plan);
        }
    }
}
