using System.Diagnostics.Metrics;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// The router's <c>System.Diagnostics.Metrics</c> instruments (meter <c>Keeptrusts.Router</c>). Only synchronous
/// instruments: observable ones would keep a router alive through the meter after a configuration reload replaced it.
/// </summary>
internal sealed class RouterInstruments : IDisposable
{
    public const string MeterName = "Keeptrusts.Router";

    private readonly Meter? _ownedMeter;

    public RouterInstruments(IMeterFactory? factory)
    {
        Meter meter;
        if (factory is not null)
        {
            meter = factory.Create(new MeterOptions(MeterName));
        }
        else
        {
            meter = _ownedMeter = new Meter(MeterName);
        }

        Requests = meter.CreateCounter<long>("keeptrusts.router.requests", "{request}", "Routed requests, by final status and the target that answered.");
        Attempts = meter.CreateCounter<long>("keeptrusts.router.attempts", "{attempt}", "Upstream attempts, by target and outcome.");
        AttemptDuration = meter.CreateHistogram<double>("keeptrusts.router.attempt.duration", "s", "Time to an attempt's answer (the first chunk, for a stream) or failure.");
        Fallbacks = meter.CreateCounter<long>("keeptrusts.router.fallbacks", "{fallback}", "Failed attempts after which the request moved on, by target and outcome.");
        StreamErrors = meter.CreateCounter<long>("keeptrusts.router.stream.errors", "{error}", "Streams that broke after their first chunk, by target.");
        InFlight = meter.CreateUpDownCounter<long>("keeptrusts.router.in_flight", "{attempt}", "Attempts holding a concurrency slot, by target.");
        QueueRejected = meter.CreateCounter<long>("keeptrusts.router.queue.rejected", "{request}", "Requests refused because the wait queue was full.");
        ConcurrencyLimit = meter.CreateGauge<int>("keeptrusts.router.concurrency.limit", "{attempt}", "The adaptive concurrency limit in force.");
        BreakerState = meter.CreateGauge<int>("keeptrusts.router.breaker.state", null, "Circuit breaker state by target: 0 closed, 1 open, 2 half-open.");
        Healthy = meter.CreateGauge<int>("keeptrusts.router.target.healthy", null, "Target health: 1 healthy, 0 unhealthy.");
    }

    public Counter<long> Requests { get; }

    public Counter<long> Attempts { get; }

    public Histogram<double> AttemptDuration { get; }

    public Counter<long> Fallbacks { get; }

    public Counter<long> StreamErrors { get; }

    public UpDownCounter<long> InFlight { get; }

    public Counter<long> QueueRejected { get; }

    public Gauge<int> ConcurrencyLimit { get; }

    public Gauge<int> BreakerState { get; }

    public Gauge<int> Healthy { get; }

    public void Dispose() => _ownedMeter?.Dispose();
}
