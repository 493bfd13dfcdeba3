using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.Valkey;

/// <summary>
/// Shared state on Valkey (or any Redis-compatible server) through StackExchange.Redis: rate limits, spend and
/// fingerprints shared by every gateway instance. Keys are laid out as
/// <c>keeptrusts:{tenant}:{org}:{gateway}:…</c>, so organisations sharing one server never collide.
/// </summary>
public static class ValkeySharedState
{
    /// <summary>The factory a gateway uses to connect to the store its <c>distributed_rate_limit</c> section names.</summary>
    /// <param name="options">Connection settings; defaults when <see langword="null"/>.</param>
    /// <returns>The factory.</returns>
    public static ISharedStateBackendFactory CreateFactory(ValkeyOptions? options = null)
    {
        options ??= new ValkeyOptions();
        options.Validate();
        return new ValkeyBackendFactory(options);
    }

    /// <summary>
    /// Connects to Valkey at <paramref name="url"/> (<c>redis://[user:password@]host[:port][/db]</c>, <c>rediss://</c>
    /// for TLS). Returns at once even when the server is not reachable yet: the backend fails open and connects in
    /// the background.
    /// </summary>
    /// <param name="url">The connection URL.</param>
    /// <param name="partition">Tenant, organisation and gateway, the key prefix of everything stored.</param>
    /// <param name="options">Connection settings; defaults when <see langword="null"/>.</param>
    /// <param name="sharedStateOptions">Clock, spend fail mode and the event callback; defaults when <see langword="null"/>.</param>
    /// <returns>The backend; dispose it to close the connection.</returns>
    /// <exception cref="ArgumentException">The URL is not a valid Valkey URL (the message never repeats it).</exception>
    public static ISharedStateBackend Connect(string url, ValkeyKeyPartition partition, ValkeyOptions? options = null, SharedStateOptions? sharedStateOptions = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(partition);
        options ??= new ValkeyOptions();
        options.Validate();
        if (!ValkeyEndpoint.TryParse(url, out var endpoint, out var problem))
        {
            throw new ArgumentException($"Invalid Valkey URL: {problem}", nameof(url));
        }

        return ValkeyBackend.Connect(endpoint, partition, options, sharedStateOptions ?? new SharedStateOptions());
    }
}

/// <summary>Who owns the keys: every key starts with <c>keeptrusts:{Tenant}:{Org}:{Gateway}:</c>.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Org">The organisation.</param>
/// <param name="Gateway">The gateway; all replicas of one gateway use the same value.</param>
public sealed record ValkeyKeyPartition(string Tenant, string Org, string Gateway)
{
    /// <summary>The partition a <c>distributed_rate_limit</c> section names (gateway defaulting to the pack name).</summary>
    /// <param name="config">The section.</param>
    /// <param name="packName">The pack name.</param>
    /// <returns>The partition.</returns>
    public static ValkeyKeyPartition From(DistributedRateLimitConfig config, string? packName)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ValkeyKeyPartition(config.Tenant, config.Org, config.Gateway ?? packName ?? "default");
    }

    /// <summary>The key prefix, components escaped so no two partitions share one.</summary>
    /// <returns><c>keeptrusts:{tenant}:{org}:{gateway}:</c>.</returns>
    public string KeyPrefix() => string.Concat("keeptrusts:", Escape(Tenant), ":", Escape(Org), ":", Escape(Gateway), ":");

    private static string Escape(string value) => Policy.RateLimiting.RequestRateLimiter.Component(value);
}

internal sealed class ValkeyBackendFactory(ValkeyOptions options) : ISharedStateBackendFactory
{
    public ISharedStateBackend? Create(DistributedRateLimitConfig config, SharedStateOptions sharedStateOptions)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(sharedStateOptions);
        var url = config.UrlEnv.Length > 0 ? Environment.GetEnvironmentVariable(config.UrlEnv) : null;
        if (string.IsNullOrWhiteSpace(url))
        {
            Report(sharedStateOptions, $"{(config.UrlEnv.Length > 0 ? config.UrlEnv : "distributed_rate_limit.url_env")} is not set");
            return null;
        }

        if (!ValkeyEndpoint.TryParse(url, out var endpoint, out var problem))
        {
            Report(sharedStateOptions, $"{config.UrlEnv} does not hold a valid Valkey URL ({problem})");
            return null;
        }

        return ValkeyBackend.Connect(endpoint, ValkeyKeyPartition.From(config, sharedStateOptions.DefaultGateway), options, sharedStateOptions);
    }

    private static void Report(SharedStateOptions options, string why) =>
        options.OnEvent?.Invoke(new SharedStateEvent(SharedStateEventKind.NotConfigured, $"shared state: {why}; rate limits, spend and fingerprints are kept per gateway instance", 0, 0));
}
