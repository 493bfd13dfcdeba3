namespace Keeptrusts.Policy.Routing;

/// <summary>An immutable picture of the router at one moment, for <c>GET /keeptrusts/providers/metrics</c>.</summary>
public sealed record ProviderMetricsSnapshot
{
    /// <summary>When the snapshot was taken.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>One entry per target, in declared order.</summary>
    public required IReadOnlyList<TargetMetrics> Targets { get; init; }

    /// <summary>The configured upper bound of concurrent upstream attempts.</summary>
    public required int MaxConcurrency { get; init; }

    /// <summary>The limit in force now: lower than <see cref="MaxConcurrency"/> after upstreams answered 429.</summary>
    public required int ConcurrencyLimit { get; init; }

    /// <summary>Attempts holding a slot now (streams count while they stream).</summary>
    public required int InFlight { get; init; }

    /// <summary>Requests waiting for a slot now.</summary>
    public required int Queued { get; init; }

    /// <summary>Requests answered 503 because the wait queue was full, since the router was created.</summary>
    public required long QueueRejected { get; init; }
}

/// <summary>The counters and state of one target since the router was created.</summary>
public sealed record TargetMetrics
{
    /// <summary>The target id.</summary>
    public required string TargetId { get; init; }

    /// <summary>Attempts sent to the target (each fallback or retry is one more).</summary>
    public required long Requests { get; init; }

    /// <summary>Attempts that the target answered with success (for a stream: the first chunk arrived).</summary>
    public required long Successes { get; init; }

    /// <summary>Failed attempts and broken streams, by class.</summary>
    public required TargetErrorCounts Errors { get; init; }

    /// <summary>
    /// Latency percentiles in milliseconds over the most recent answered attempts (up to 512; time to the answer, or to
    /// the first chunk of a stream); null before the first answer.
    /// </summary>
    public required double? LatencyP50Ms { get; init; }

    /// <summary>The 95th latency percentile in milliseconds; null before the first answer.</summary>
    public required double? LatencyP95Ms { get; init; }

    /// <summary>The 99th latency percentile in milliseconds; null before the first answer.</summary>
    public required double? LatencyP99Ms { get; init; }

    /// <summary>The moving average of latency used by the <c>least_latency</c> strategy, in milliseconds; null before the first sample.</summary>
    public required double? LatencyEwmaMs { get; init; }

    /// <summary>The circuit breaker's state (closed when breakers are disabled).</summary>
    public required TargetBreakerState BreakerState { get; init; }

    /// <summary>Attempts to this target holding a slot now.</summary>
    public required int InFlight { get; init; }

    /// <summary>Whether the target is healthy by passive (traffic) and active (probe) checks.</summary>
    public required bool Healthy { get; init; }
}

/// <summary>Failures of one target by class.</summary>
public sealed record TargetErrorCounts
{
    /// <summary>429 answers.</summary>
    public long RateLimit { get; init; }

    /// <summary>5xx answers.</summary>
    public long ServerError { get; init; }

    /// <summary>Attempts that passed their timeout or the request's overall deadline.</summary>
    public long Timeout { get; init; }

    /// <summary>Other 4xx answers (400, 401, 403, 404, 422…), which are the caller's to fix and never open a breaker.</summary>
    public long ClientError { get; init; }

    /// <summary>Connections refused or reset before an answer.</summary>
    public long Connection { get; init; }

    /// <summary>2xx answers that were not valid (malformed, empty, a stream without a first chunk).</summary>
    public long InvalidResponse { get; init; }

    /// <summary>Streams that broke after their first chunk.</summary>
    public long Stream { get; init; }

    /// <summary>All of the above.</summary>
    public long Total => RateLimit + ServerError + Timeout + ClientError + Connection + InvalidResponse + Stream;
}

/// <summary>The state of a target's circuit breaker.</summary>
public enum TargetBreakerState
{
    /// <summary>Traffic flows.</summary>
    Closed,

    /// <summary>The target failed too often; it is skipped until the break duration passes.</summary>
    Open,

    /// <summary>The break duration passed and one probe request is in flight; its outcome closes or reopens the breaker.</summary>
    HalfOpen,
}
