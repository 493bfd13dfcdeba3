using System.Diagnostics.Metrics;

namespace Keeptrusts.Policy.Routing;

/// <summary>Options of a <see cref="ProviderRouter"/>. Read once, by <see cref="ProviderRouter.Create"/>.</summary>
public sealed class ProviderRouterOptions
{
    /// <summary>The default of <see cref="MaxConcurrency"/>.</summary>
    public const int DefaultMaxConcurrency = 16;

    /// <summary>The clock for every wait, timeout, breaker and probe. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// The most upstream attempts in flight at once across the router, 1 or more. Default 16. A slot is held from
    /// the moment an attempt starts until its response is disposed, so a stream holds its slot while it streams.
    /// When upstreams answer 429 the effective limit shrinks below this (see <c>docs/routing.md</c>).
    /// </summary>
    public int MaxConcurrency { get; set; } = DefaultMaxConcurrency;

    /// <summary>
    /// How many requests may wait, first in first out, for a free slot; 0 means none wait. Default (<see langword="null"/>):
    /// 4 × <see cref="MaxConcurrency"/>. A request that finds the queue full is answered 503 with <c>Retry-After</c> at once.
    /// </summary>
    public int? MaxQueueLength { get; set; }

    /// <summary>Where the <c>keeptrusts.router.*</c> instruments come from; when null the router uses a meter of its own.</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// Whether active health probes run when <c>providers.health_check.enabled</c> is true. Default true; hosts that
    /// probe by other means turn it off. Passive health (from real traffic) is always on.
    /// </summary>
    public bool EnableHealthChecks { get; set; } = true;

    /// <summary>Seed of the router's random numbers (weighted choice, backoff jitter), for reproducible runs. Default: random.</summary>
    public int? RandomSeed { get; set; }
}
