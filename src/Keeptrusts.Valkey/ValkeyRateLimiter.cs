using System.Globalization;
using Keeptrusts.Policy.RateLimiting;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// Fixed one-minute windows shared through Valkey: one Lua script increments the bucket's counter, starts its expiry
/// with the first request and returns the count and the time left, atomically, so every instance sees one count and
/// a limit of N admits exactly N across the fleet. While Valkey is unreachable the check fails open to in-process
/// counting.
/// </summary>
internal sealed class ValkeyRateLimiter(ValkeyBackend backend, int limit, LocalRateLimiter local) : IRequestRateLimiter
{
    // A key that somehow lost its expiry (PTTL -1) gets one again, so a bucket can never stay limited for ever.
    internal const string Script = """
        local c = redis.call('INCR', KEYS[1])
        if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local t = redis.call('PTTL', KEYS[1])
        if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
        return {c, t}
        """;

    /// <summary>The key of a bucket, under the partition prefix.</summary>
    internal const string KeyPrefix = "rl:";

    private static readonly RedisValue[] WindowMs = [((long)RequestRateLimiter.Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)];

    public async ValueTask<RateLimitLease> AcquireAsync(string bucketKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucketKey);
        if (!backend.Health.IsUsable())
        {
            return local.Acquire(bucketKey);
        }

        try
        {
            var reply = await backend.Database.ScriptEvaluateAsync(Script, [KeyPrefix + bucketKey], WindowMs).WaitAsync(cancellationToken).ConfigureAwait(false);
            var values = (RedisResult[])reply!;
            var count = (long)values[0];
            var ttl = (long)values[1];
            backend.Health.Succeeded();
            if (count <= limit)
            {
                return new RateLimitLease(true, (int)(limit - count), TimeSpan.Zero);
            }

            RateLimitingTelemetry.Limited.Add(1);
            return new RateLimitLease(false, 0, TimeSpan.FromMilliseconds(Math.Clamp(ttl, 1, (long)RequestRateLimiter.Window.TotalMilliseconds)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidCastException)
        {
            backend.Health.Failed(ex);
            return local.Acquire(bucketKey);
        }
    }

    public ValueTask DisposeAsync() => local.DisposeAsync();
}
