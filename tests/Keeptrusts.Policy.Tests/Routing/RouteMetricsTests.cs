using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteMetricsTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    [Fact]
    public async Task Latency_percentiles_come_from_the_answered_attempts()
    {
        var time = _time;
        var next = 0;
        _clients["a"].OnSend = (_, ct) => Responses.After(time, TimeSpan.FromMilliseconds(10 * Interlocked.Increment(ref next)), 200, ct);
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);

        for (var i = 0; i < 10; i++)
        {
            await using var result = await Routers.Send(router, _time);
        }

        var a = router.GetMetrics().Targets.Single();
        Assert.Equal((10L, 10L), (a.Requests, a.Successes));
        Assert.Equal(50, a.LatencyP50Ms);
        Assert.Equal(100, a.LatencyP95Ms);
        Assert.Equal(100, a.LatencyP99Ms);
    }

    [Fact]
    public async Task Errors_are_counted_by_class()
    {
        string[] script = ["429", "500", "hang", "400", "refused", "reset", "invalid", "503"];
        var config = Routers.Config(1, fallback: new FallbackConfig { MaxFallbackAttempts = 0 });
        await using var router = Routers.Create(config, _clients, _time);
        foreach (var failure in script)
        {
            _clients["a"].OnSend = RouteFallbackTests.Failing(failure);
            await using var result = await Routers.Send(router, _time);
        }

        var a = router.GetMetrics().Targets.Single();
        Assert.Equal(8, a.Requests);
        Assert.Equal(0, a.Successes);
        Assert.Equal(
            new TargetErrorCounts { RateLimit = 1, ServerError = 2, Timeout = 1, ClientError = 1, Connection = 2, InvalidResponse = 1 },
            a.Errors);
        Assert.Equal(8, a.Errors.Total);

        // Only answers that succeeded and attempts that timed out move the latency average: here the one timeout.
        Assert.Equal(1_000, a.LatencyEwmaMs);
    }

    [Fact]
    public async Task A_snapshot_is_immutable_and_reports_breaker_health_and_in_flight()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(500);
        var config = Routers.Config(2, breaker: new CircuitBreakerConfig { MinimumThroughput = 2, FailureRatio = 0.5, SamplingDurationMs = 10_000, BreakDurationMs = 5_000 }, health: new HealthCheckConfig { UnhealthyThreshold = 2 });
        await using var router = Routers.Create(config, _clients, _time);
        var before = router.GetMetrics();

        RouteResult? held = null;
        for (var i = 0; i < 2; i++)
        {
            held = await Routers.Send(router, _time);
        }

        var after = router.GetMetrics();
        Assert.Equal(0, before.Targets[0].Requests);
        Assert.Equal(TargetBreakerState.Closed, before.Targets[0].BreakerState);
        Assert.True(before.Targets[0].Healthy);

        Assert.Equal(["a", "b"], after.Targets.Select(static t => t.TargetId));
        Assert.Equal(TargetBreakerState.Open, after.Targets[0].BreakerState);
        Assert.False(after.Targets[0].Healthy);
        Assert.Equal(2, after.Targets[1].InFlight);
        Assert.Equal(2, after.InFlight);
        Assert.Equal(16, after.MaxConcurrency);
        Assert.Equal(_time.GetUtcNow(), after.Timestamp);
        await held!.DisposeAsync();
    }

    [Fact]
    public async Task Instruments_named_keeptrusts_router_report_to_the_meter_factory()
    {
        using var meters = new TestMeterFactory();
        using var listener = new MeterListener();
        var measurements = new ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tags(tags))));
        listener.Start();

        _clients["a"].OnSend = static (_, _) => Responses.Answer(429);
        await using (var router = Routers.Create(Routers.Config(2), _clients, _time, meters: meters))
        {
            await using var result = await Routers.Send(router, _time);
        }

        Assert.All(measurements, static m => Assert.StartsWith("keeptrusts.router.", m.Name, StringComparison.Ordinal));
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.attempts" && Equals(m.Tags["target"], "a") && Equals(m.Tags["outcome"], "rate_limit"));
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.attempts" && Equals(m.Tags["target"], "b") && Equals(m.Tags["outcome"], "ok"));
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.fallbacks" && Equals(m.Tags["target"], "a"));
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.requests" && Equals(m.Tags["status"], 200));
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.concurrency.limit" && m.Value == 8);
        Assert.Contains(measurements, static m => m.Name == "keeptrusts.router.attempt.duration");
        Assert.Equal(0, measurements.Where(static m => m.Name == "keeptrusts.router.in_flight").Sum(static m => m.Value));
    }

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        return map;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}
