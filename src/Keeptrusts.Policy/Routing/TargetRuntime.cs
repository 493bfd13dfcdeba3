using Keeptrusts.Policy.Configuration;
using Polly;
using Polly.CircuitBreaker;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Everything the router knows about one target at run time: its client, breaker, health, latency average and
/// counters. Thread-safe; counters are updated with interlocked operations, the rest under a small lock.
/// </summary>
internal sealed class TargetRuntime
{
    /// <summary>Latency samples kept per target for the percentiles.</summary>
    public const int ReservoirSize = 512;

    /// <summary>Weight of the newest sample in the latency moving average.</summary>
    public const double EwmaAlpha = 0.3;

    private readonly Lock _gate = new();
    private readonly CircuitBreakerStateProvider? _breakerState;
    private readonly TimeSpan _breakDuration;
    private readonly int _unhealthyThreshold;
    private readonly int _healthyThreshold;
    private readonly long _passiveCooldownTicks;
    private readonly bool _activeProbes;
    private readonly TimeProvider _time;
    private readonly double[] _latencies = new double[ReservoirSize];
    private readonly long[] _errors = new long[8];

    private long _openUntilTicks;
    private int _consecutiveFailures;
    private int _consecutiveSuccesses;
    private bool _healthy = true;
    private long _unhealthySince;
    private double _ewmaMs = double.NaN;
    private int _latencyCount;
    private int _latencyNext;
    private long _requests;
    private long _successes;
    private int _inFlight;

    public TargetRuntime(int index, ProviderTarget target, IProviderClient client, ProvidersConfig config, bool activeProbes, TimeProvider time)
    {
        Index = index;
        Target = target;
        Client = client;
        _time = time;
        _activeProbes = activeProbes;
        _unhealthyThreshold = Math.Max(1, config.HealthCheck.UnhealthyThreshold);
        _healthyThreshold = Math.Max(1, config.HealthCheck.HealthyThreshold);
        _passiveCooldownTicks = TimeSpan.FromMilliseconds(Math.Max(1, config.HealthCheck.IntervalMs)).Ticks;
        _breakDuration = TimeSpan.FromMilliseconds(config.CircuitBreaker.BreakDurationMs);

        if (config.CircuitBreaker.Enabled)
        {
            _breakerState = new CircuitBreakerStateProvider();
            var breaker = config.CircuitBreaker;
            Breaker = new ResiliencePipelineBuilder<AttemptScope> { TimeProvider = time }
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions<AttemptScope>
                {
                    FailureRatio = breaker.FailureRatio,
                    MinimumThroughput = breaker.MinimumThroughput,
                    SamplingDuration = TimeSpan.FromMilliseconds(breaker.SamplingDurationMs),
                    BreakDuration = _breakDuration,
                    StateProvider = _breakerState,
                    ShouldHandle = args => ValueTask.FromResult(IsBreakerFailure(args.Outcome)),
                })
                .Build();
        }
    }

    public int Index { get; }

    public ProviderTarget Target { get; }

    public string Id => Target.Id;

    public IProviderClient Client { get; }

    /// <summary>The circuit breaker every attempt runs through; null when breakers are disabled.</summary>
    public ResiliencePipeline<AttemptScope>? Breaker { get; }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The latency moving average in milliseconds; 0 before the first sample, so an untried target is tried early.</summary>
    public double LatencyScore
    {
        get
        {
            var value = Volatile.Read(ref _ewmaMs);
            return double.IsNaN(value) ? 0 : value;
        }
    }

    public TargetBreakerState BreakerState => _breakerState?.CircuitState switch
    {
        CircuitState.Open or CircuitState.Isolated => TargetBreakerState.Open,
        CircuitState.HalfOpen => TargetBreakerState.HalfOpen,
        _ => TargetBreakerState.Closed,
    };

    public bool Healthy
    {
        get
        {
            lock (_gate)
            {
                return _healthy;
            }
        }
    }

    /// <summary>
    /// Whether the breaker keeps traffic away now: open and still inside its break duration, or half-open with its one
    /// probe in flight. <paramref name="untilHalfOpen"/> is how long until a probe may go.
    /// </summary>
    public bool IsBlocked(DateTimeOffset now, out TimeSpan untilHalfOpen)
    {
        untilHalfOpen = TimeSpan.Zero;
        if (_breakerState is null)
        {
            return false;
        }

        switch (_breakerState.CircuitState)
        {
            case CircuitState.Open or CircuitState.Isolated:
                var until = new DateTimeOffset(Interlocked.Read(ref _openUntilTicks), TimeSpan.Zero) - now;
                if (until > TimeSpan.Zero)
                {
                    untilHalfOpen = until;
                    return true;
                }

                return false;
            case CircuitState.HalfOpen:
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Called after each execution through the breaker. Polly does not say when an open breaker will let a probe through,
    /// so the router keeps that time itself: when the breaker is open now and the time it knows predates this attempt,
    /// this attempt opened (or reopened) it, just now.
    /// </summary>
    public void AfterBreakerExecution(DateTimeOffset attemptStarted, DateTimeOffset now)
    {
        if (_breakerState is not { CircuitState: CircuitState.Open })
        {
            return;
        }

        lock (_gate)
        {
            if (Interlocked.Read(ref _openUntilTicks) <= attemptStarted.UtcTicks)
            {
                Interlocked.Exchange(ref _openUntilTicks, (now + _breakDuration).UtcTicks);
            }
        }
    }

    /// <summary>Whether the target goes in its strategy place (healthy, or on probation) rather than after every healthy one.</summary>
    public bool IsPreferred(long timestamp)
    {
        lock (_gate)
        {
            // Without active probes, nothing else would ever send traffic to an unhealthy target: after a cool-down
            // (health_check.interval_ms) it gets its place back, and one failure sends it back to the end.
            return _healthy || (!_activeProbes && timestamp - _unhealthySince >= _passiveCooldownTicks);
        }
    }

    /// <summary>Feeds health from real traffic (<paramref name="probe"/> false) or an active probe.</summary>
    public bool RecordHealth(bool success, bool probe)
    {
        var now = _time.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            var was = _healthy;
            if (success)
            {
                _consecutiveFailures = 0;
                _consecutiveSuccesses++;

                // A real answer proves the target at once; probes need healthy_threshold in a row.
                if (!_healthy && (!probe || _consecutiveSuccesses >= _healthyThreshold))
                {
                    _healthy = true;
                }
            }
            else
            {
                _consecutiveSuccesses = 0;
                _consecutiveFailures++;
                if (_consecutiveFailures >= _unhealthyThreshold)
                {
                    _healthy = false;
                    _unhealthySince = now;
                }
            }

            return was != _healthy;
        }
    }

    public void EnterFlight() => Interlocked.Increment(ref _inFlight);

    public void LeaveFlight() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Counts one attempt. <paramref name="latency"/> is given when the target answered (any status) or timed out.</summary>
    public void RecordAttempt(AttemptKind kind, TimeSpan? latency, bool answered)
    {
        Interlocked.Increment(ref _requests);
        if (kind == AttemptKind.Ok)
        {
            Interlocked.Increment(ref _successes);
        }
        else
        {
            Interlocked.Increment(ref _errors[ErrorSlot(kind)]);
        }

        if (latency is not { } elapsed)
        {
            return;
        }

        var ms = elapsed.TotalMilliseconds;
        lock (_gate)
        {
            if (answered)
            {
                _latencies[_latencyNext] = ms;
                _latencyNext = (_latencyNext + 1) % ReservoirSize;
                _latencyCount = Math.Min(_latencyCount + 1, ReservoirSize);
            }

            // Failures that come back fast (refused, 5xx) would make a broken target look quick: only answers that
            // succeeded and attempts that timed out move the average.
            if (kind is AttemptKind.Ok or AttemptKind.Timeout)
            {
                var next = double.IsNaN(_ewmaMs) ? ms : (EwmaAlpha * ms) + ((1 - EwmaAlpha) * _ewmaMs);
                Volatile.Write(ref _ewmaMs, next);
            }
        }
    }

    public void RecordStreamError() => Interlocked.Increment(ref _errors[7]);

    public TargetMetrics Snapshot()
    {
        double[] samples;
        double ewma;
        bool healthy;
        lock (_gate)
        {
            samples = new double[_latencyCount];
            Array.Copy(_latencies, samples, _latencyCount);
            ewma = _ewmaMs;
            healthy = _healthy;
        }

        Array.Sort(samples);
        return new TargetMetrics
        {
            TargetId = Id,
            Requests = Interlocked.Read(ref _requests),
            Successes = Interlocked.Read(ref _successes),
            Errors = new TargetErrorCounts
            {
                RateLimit = Interlocked.Read(ref _errors[0]),
                ServerError = Interlocked.Read(ref _errors[1]),
                Timeout = Interlocked.Read(ref _errors[2]),
                ClientError = Interlocked.Read(ref _errors[3]),
                Connection = Interlocked.Read(ref _errors[4]),
                InvalidResponse = Interlocked.Read(ref _errors[5]),
                Stream = Interlocked.Read(ref _errors[7]),
            },
            LatencyP50Ms = Percentile(samples, 0.50),
            LatencyP95Ms = Percentile(samples, 0.95),
            LatencyP99Ms = Percentile(samples, 0.99),
            LatencyEwmaMs = double.IsNaN(ewma) ? null : ewma,
            BreakerState = BreakerState,
            InFlight = InFlight,
            Healthy = healthy,
        };
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    internal static double? Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static int ErrorSlot(AttemptKind kind) => kind switch
    {
        AttemptKind.RateLimit => 0,
        AttemptKind.ServerError => 1,
        AttemptKind.Timeout => 2,
        AttemptKind.ClientError => 3,
        AttemptKind.ConnectionRefused or AttemptKind.ConnectionReset => 4,
        AttemptKind.InvalidResponse => 5,
        _ => 6,
    };

    private bool IsBreakerFailure(Outcome<AttemptScope> outcome)
    {
        if (outcome.Result is not { } scope)
        {
            // The attempt code turns every failure into a value; an exception here is a bug, and counts against the target.
            return outcome.Exception is not null and not OperationCanceledException;
        }

        // A cancelled half-open probe proved nothing: count it as a failure so the breaker stays open rather than closing.
        return scope.Kind == AttemptKind.Cancelled
            ? _breakerState?.CircuitState == CircuitState.HalfOpen
            : scope.Kind.Trigger() is not null;
    }
}
