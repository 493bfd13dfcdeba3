using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Routing;

/// <summary>How one attempt ended.</summary>
internal enum AttemptKind
{
    Ok,
    RateLimit,
    ServerError,
    Timeout,
    ClientError,
    ConnectionRefused,
    ConnectionReset,
    InvalidResponse,

    /// <summary>The caller cancelled: not the target's failure, and nothing more is tried.</summary>
    Cancelled,

    /// <summary>The breaker refused the attempt before anything was sent (another request holds its half-open probe).</summary>
    Rejected,
}

internal static class AttemptKinds
{
    /// <summary>The outcome names of <see cref="RouteAttempt.Outcome"/>, by kind.</summary>
    private static readonly string[] Names =
        ["ok", "rate_limit", "server_error", "timeout", "client_error", "connection_refused", "connection_reset", "invalid_response", "cancelled", "rejected"];

    public static string Name(this AttemptKind kind) => Names[(int)kind];

    public static AttemptKind FromStatus(int status) => status switch
    {
        >= 200 and < 300 => AttemptKind.Ok,
        429 => AttemptKind.RateLimit,
        408 => AttemptKind.Timeout,
        >= 400 and < 500 => AttemptKind.ClientError,
        >= 500 and < 600 => AttemptKind.ServerError,

        // 1xx and 3xx have no place in an answer to a completion request: the upstream is not speaking the protocol.
        _ => AttemptKind.InvalidResponse,
    };

    public static AttemptKind FromFailure(ProviderFailureKind kind) => kind switch
    {
        ProviderFailureKind.ConnectionRefused => AttemptKind.ConnectionRefused,
        ProviderFailureKind.Timeout => AttemptKind.Timeout,
        ProviderFailureKind.InvalidResponse => AttemptKind.InvalidResponse,
        _ => AttemptKind.ConnectionReset,
    };

    /// <summary>The fallback trigger class of a failure; null for success, client errors, cancellation and rejection.</summary>
    public static FallbackTrigger? Trigger(this AttemptKind kind) => kind switch
    {
        AttemptKind.RateLimit => FallbackTrigger.RateLimit,
        AttemptKind.ServerError or AttemptKind.ConnectionRefused or AttemptKind.ConnectionReset or AttemptKind.InvalidResponse => FallbackTrigger.ServerError,
        AttemptKind.Timeout => FallbackTrigger.Timeout,
        _ => null,
    };

    /// <summary>Whether the failure says the target itself is unwell (passive health): server errors and timeouts, not 429 or 4xx.</summary>
    public static bool HurtsHealth(this AttemptKind kind) =>
        kind.Trigger() is FallbackTrigger.ServerError or FallbackTrigger.Timeout;
}
