using System.Diagnostics.Metrics;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>The <c>keeptrusts.rate_limit.*</c> instruments.</summary>
internal static class RateLimitingTelemetry
{
    public const string MeterName = "Keeptrusts.RateLimiting";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Checks counted in-process because Valkey could not be reached.</summary>
    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("keeptrusts.rate_limit.fallbacks", "{check}", "Rate-limit checks counted in-process because Valkey was unreachable (fail open).");

    /// <summary>Outages of the shared store that began.</summary>
    public static readonly Counter<long> Outages = Meter.CreateCounter<long>("keeptrusts.rate_limit.outages", "{outage}", "Times the shared rate-limit store became unreachable.");

    /// <summary>Requests refused by a rate limit.</summary>
    public static readonly Counter<long> Limited = Meter.CreateCounter<long>("keeptrusts.rate_limit.limited", "{request}", "Requests refused because their bucket was over its limit.");
}
