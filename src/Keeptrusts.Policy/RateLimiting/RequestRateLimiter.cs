using System.Security.Cryptography;
using System.Text;
using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>Creates in-process rate limiters and the bucket keys every limiter counts by.</summary>
public static class RequestRateLimiter
{
    /// <summary>The length of one counting window.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private const int MaxComponentLength = 128;

    /// <summary>
    /// Creates a limiter counting in this process: <paramref name="requestsPerMinute"/> requests per bucket and
    /// minute, per instance. A shared count across instances comes from a <see cref="SharedState.ISharedStateBackend"/>
    /// (the <c>Keeptrusts.Valkey</c> package), which falls back to a limiter like this one while its store is away.
    /// </summary>
    /// <param name="requestsPerMinute">Requests allowed per bucket and minute, at least 1.</param>
    /// <param name="time">The clock of the windows.</param>
    /// <returns>The limiter.</returns>
    public static IRequestRateLimiter CreateInProcess(int requestsPerMinute, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        return new LocalRateLimiter(requestsPerMinute, Window, time);
    }

    /// <summary>
    /// Builds the bucket key of a request: the partition (tenant, org and gateway, so fleets never share counts by
    /// accident), the scope and its subject. Components are escaped so no two different inputs give one key, and long
    /// ones are hashed so a key stays short.
    /// </summary>
    /// <param name="partition">Who owns the limit, e.g. <c>tenant/org/gateway</c> or the pack name.</param>
    /// <param name="scope">What the limit counts per.</param>
    /// <param name="subject">The user id, team or gateway key id (never the key itself); ignored for <see cref="RateLimitScope.Global"/>.</param>
    /// <returns>The bucket key; a shared store adds its own key prefix.</returns>
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

    /// <summary>Escapes one key component so no two different inputs give one key; long ones are hashed.</summary>
    internal static string Component(string value)
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
}
