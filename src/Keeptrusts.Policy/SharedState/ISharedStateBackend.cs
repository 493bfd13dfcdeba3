using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.RateLimiting;

namespace Keeptrusts.Policy.SharedState;

/// <summary>
/// State shared by every instance of one gateway: request counts, spend and request fingerprints. Implementations
/// are thread-safe and fail open (counting in-process) while their store is unreachable, reporting each outage once
/// through <see cref="SharedStateOptions.OnEvent"/>. The <c>Keeptrusts.Valkey</c> package provides one on Valkey.
/// </summary>
public interface ISharedStateBackend : IAsyncDisposable
{
    /// <summary>Where the state lives, for logs and diagnostics; never contains a password.</summary>
    string Description { get; }

    /// <summary>Spend reservations and settlements shared by every instance.</summary>
    ISpendStore SpendStore { get; }

    /// <summary>Request fingerprints shared by every instance.</summary>
    IFingerprintStore Fingerprints { get; }

    /// <summary>Conversation memory shared by every instance (no in-process fallback: recall counts its failures).</summary>
    IMemoryStore Memory { get; }

    /// <summary>Creates a rate limiter whose counts are shared by every instance (one per configuration revision).</summary>
    /// <param name="requestsPerMinute">Requests allowed per bucket and minute, at least 1.</param>
    /// <returns>The limiter; disposing it leaves the backend open.</returns>
    IRequestRateLimiter CreateRateLimiter(int requestsPerMinute);
}

/// <summary>Creates the <see cref="ISharedStateBackend"/> a <c>distributed_rate_limit</c> section asks for.</summary>
public interface ISharedStateBackendFactory
{
    /// <summary>Connects to the store the section names.</summary>
    /// <param name="config">The <c>distributed_rate_limit</c> section.</param>
    /// <param name="options">Partition, clock, fail mode and the event callback.</param>
    /// <returns>
    /// The backend, or <see langword="null"/> when the section's URL is missing or invalid (reported as
    /// <see cref="SharedStateEventKind.NotConfigured"/>); state is then kept per instance. A store that is merely
    /// unreachable still gives a backend, which fails open until the store answers.
    /// </returns>
    ISharedStateBackend? Create(DistributedRateLimitConfig config, SharedStateOptions options);
}

/// <summary>Settings of an <see cref="ISharedStateBackend"/> that come from the host rather than the configuration.</summary>
public sealed class SharedStateOptions
{
    /// <summary>The clock of in-process fallbacks, reservation expiry and fingerprint windows. Default the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// What the spend store does while the store is unreachable: <see cref="FailMode.Allow"/> counts spend in-process
    /// (each instance then holds the budget on its own), <see cref="FailMode.Block"/> fails the reservation, so the
    /// spend-limit policy errors and the engine's fail mode refuses the request. Default allow.
    /// </summary>
    public FailMode SpendFailMode { get; set; } = FailMode.Allow;

    /// <summary>The gateway part of the key partition when the section names none: the pack name.</summary>
    public string? DefaultGateway { get; set; }

    /// <summary>Called when the store becomes unavailable (once per outage), answers again, or is not configured. Must not throw.</summary>
    public Action<SharedStateEvent>? OnEvent { get; set; }
}

/// <summary>What happened to a shared-state store.</summary>
public enum SharedStateEventKind
{
    /// <summary>No usable URL: the environment variable is unset or the URL is invalid. State is kept per instance.</summary>
    NotConfigured,

    /// <summary>The store stopped answering. State is kept per instance (fail open) until it is back.</summary>
    Unavailable,

    /// <summary>The store answers again; state is shared by the fleet again.</summary>
    Restored,
}

/// <summary>A change in the state of a shared-state store.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Message">A one-line explanation naming the endpoint (<c>host:port/db</c>), never a password.</param>
/// <param name="Outages">How many outages have begun since the backend was created.</param>
/// <param name="Failures">How many operations have failed over to in-process state since the backend was created.</param>
public readonly record struct SharedStateEvent(SharedStateEventKind Kind, string Message, long Outages, long Failures);
