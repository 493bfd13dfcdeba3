using System.Security.Cryptography;
using System.Text;
using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>Creates the rate limiter a <c>distributed_rate_limit</c> section describes.</summary>
public static class RequestRateLimiter
{
    /// <summary>The prefix of every key the limiter writes to Valkey.</summary>
    public const string KeyPrefix = "keeptrusts:rl:";

    /// <summary>The length of one counting window.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private const int MaxComponentLength = 128;

    /// <summary>
    /// Creates a limiter allowing <see cref="DistributedRateLimitConfig.RequestsPerMinute"/> requests per bucket and
    /// minute. With a usable Valkey URL the count is shared by every instance through Valkey; without one (the
    /// variable unset or the URL invalid) it is counted in-process and <see cref="RateLimitBackendEventKind.NotConfigured"/>
    /// is reported. Whenever Valkey cannot be reached, checks fail open to in-process counting.
    /// </summary>
    /// <param name="config">The <c>distributed_rate_limit</c> section.</param>
    /// <param name="time">The clock of the in-process windows and of reconnect backoff.</param>
    /// <param name="options">Connection settings and the outage callback.</param>
    /// <returns>The limiter; dispose it to close its connections.</returns>
    public static IRequestRateLimiter Create(DistributedRateLimitConfig config, TimeProvider time, RequestRateLimiterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.RequestsPerMinute, 1, nameof(config));
        options ??= new RequestRateLimiterOptions();
        Validate(options);

        var local = new LocalRateLimiter(config.RequestsPerMinute, Window, time);
        var url = options.Url ?? (config.UrlEnv.Length > 0 ? Environment.GetEnvironmentVariable(config.UrlEnv) : null);
        if (string.IsNullOrWhiteSpace(url))
        {
            var source = options.Url is null ? $"{(config.UrlEnv.Length > 0 ? config.UrlEnv : "distributed_rate_limit.url_env")} is not set" : "the Valkey URL is empty";
            options.OnBackendEvent?.Invoke(new RateLimitBackendEvent(RateLimitBackendEventKind.NotConfigured, $"distributed rate limit: {source}; limits are counted per gateway instance", 0, 0));
            return local;
        }

        if (!ValkeyEndpoint.TryParse(url, out var endpoint, out var problem))
        {
            var source = options.Url is null ? $"{config.UrlEnv} does not hold a valid Valkey URL" : "the Valkey URL is invalid";
            options.OnBackendEvent?.Invoke(new RateLimitBackendEvent(RateLimitBackendEventKind.NotConfigured, $"distributed rate limit: {source} ({problem}); limits are counted per gateway instance", 0, 0));
            return local;
        }

        return new ValkeyRateLimiter(endpoint, config.RequestsPerMinute, time, options, local);
    }

    /// <summary>
    /// Builds the bucket key of a request: the partition (tenant, org and gateway, so fleets never share counts by
    /// accident), the scope and its subject. Components are escaped so no two different inputs give one key, and long
    /// ones are hashed so a key stays short.
    /// </summary>
    /// <param name="partition">Who owns the limit, e.g. <c>tenant/org/gateway</c> or the pack name.</param>
    /// <param name="scope">What the limit counts per.</param>
    /// <param name="subject">The user id, team or gateway key id (never the key itself); ignored for <see cref="RateLimitScope.Global"/>.</param>
    /// <returns>The bucket key, without <see cref="KeyPrefix"/>.</returns>
    public static string BucketKey(string partition, RateLimitScope scope, string? subject)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var scopeName = scope switch
        {
            RateLimitScope.User => "user",
            RateLimitScope.Team => "team",
            RateLimitScope.GatewayKey => "key",
            _ => "global",
        };
        var who = scope == RateLimitScope.Global ? "*" : string.IsNullOrEmpty(subject) ? "~anonymous" : Component(subject);
        return string.Concat(Component(partition), ":", scopeName, ":", who);
    }

    private static string Component(string value)
    {
        if (value.Length > MaxComponentLength)
        {
            return "#" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        }

        // '%' first, so an escaped ':' can never be confused with a literal "%3A"; '#' and '~' mark hashed and
        // anonymous components.
        if (value.AsSpan().IndexOfAny("%:#~\r\n") < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '%' => builder.Append("%25"),
                ':' => builder.Append("%3A"),
                '#' => builder.Append("%23"),
                '~' => builder.Append("%7E"),
                '\r' => builder.Append("%0D"),
                '\n' => builder.Append("%0A"),
                _ => builder.Append(c),
            };
        }

        return builder.ToString();
    }

    private static void Validate(RequestRateLimiterOptions options)
    {
        var errors = new List<string>();
        if (options.CommandTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(options.CommandTimeout)} must be positive");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(options.ConnectTimeout)} must be positive");
        }

        if (options.MaxConnections < 1)
        {
            errors.Add($"{nameof(options.MaxConnections)} must be at least 1");
        }

        if (options.InitialReconnectBackoff <= TimeSpan.Zero || options.MaxReconnectBackoff < options.InitialReconnectBackoff)
        {
            errors.Add($"{nameof(options.InitialReconnectBackoff)} must be positive and at most {nameof(options.MaxReconnectBackoff)}");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid rate limiter options: " + string.Join("; ", errors), nameof(options));
        }
    }
}
