namespace Keeptrusts.Policy.RateLimiting;

/// <summary>Settings of a rate limiter beyond the <c>distributed_rate_limit</c> section. Defaults suit a gateway.</summary>
public sealed class RequestRateLimiterOptions
{
    /// <summary>
    /// The Valkey URL (<c>redis://[user:password@]host[:port][/db]</c>, or <c>rediss://</c> for TLS). When not set,
    /// it is read from the environment variable the section's <c>url_env</c> names.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>The longest one rate-limit check may wait for Valkey before the request is counted in-process instead. Default 500 ms.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest opening a connection (TCP, TLS, AUTH, SELECT) may take. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The most connections kept open to Valkey; checks beyond that wait for a free one. Default 8.</summary>
    public int MaxConnections { get; set; } = 8;

    /// <summary>The wait before the first reconnect after a failure; it doubles per failure up to <see cref="MaxReconnectBackoff"/>. Default 250 ms.</summary>
    public TimeSpan InitialReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between reconnect attempts while Valkey is unreachable. Default 10 s.</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Called when the shared store becomes unavailable (once per outage), when it is reachable again, and when it
    /// is not configured at all. Messages never contain credentials. Must not throw and must return quickly.
    /// </summary>
    public Action<RateLimitBackendEvent>? OnBackendEvent { get; set; }
}

/// <summary>What happened to the rate limiter's shared store.</summary>
public enum RateLimitBackendEventKind
{
    /// <summary>No usable URL: the environment variable is unset or the URL is invalid. Limits are counted per instance.</summary>
    NotConfigured,

    /// <summary>The store stopped answering. Requests are counted per instance (fail open) until it is back.</summary>
    Unavailable,

    /// <summary>The store answers again; limits are shared by the fleet again.</summary>
    Restored,
}

/// <summary>A change in the state of the rate limiter's shared store.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Message">A one-line explanation naming the endpoint (<c>host:port/db</c>), never a password.</param>
/// <param name="Outages">How many outages have begun since the limiter was created.</param>
/// <param name="Failures">How many checks have failed over to in-process counting since the limiter was created.</param>
public readonly record struct RateLimitBackendEvent(RateLimitBackendEventKind Kind, string Message, long Outages, long Failures);
