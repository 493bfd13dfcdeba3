using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>
/// Fixed windows shared through Valkey: one Lua script increments the bucket's key, starts its expiry with the first
/// request and returns the count and the time left, atomically, so every gateway instance sees the same count.
/// When Valkey cannot be reached the check fails open to <see cref="LocalRateLimiter"/>; the outage is reported
/// once, and Valkey is probed again with exponential backoff (one probe at a time) until it answers.
/// </summary>
internal sealed class ValkeyRateLimiter : IRequestRateLimiter
{
    // A key that somehow lost its expiry (PTTL -1) gets one again, so a bucket can never stay limited for ever.
    internal const string Script = """
        local c = redis.call('INCR', KEYS[1])
        if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local t = redis.call('PTTL', KEYS[1])
        if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
        return {c, t}
        """;

    // Valkey names cached scripts by their SHA-1; it is an identifier here, not a security measure.
#pragma warning disable CA5350
    private static readonly string ScriptSha = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(Script)));
#pragma warning restore CA5350

    private static readonly string WindowMs = ((long)RequestRateLimiter.Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private readonly ValkeyConnectionPool _pool;
    private readonly LocalRateLimiter _local;
    private readonly int _limit;
    private readonly TimeProvider _time;
    private readonly RequestRateLimiterOptions _options;
    private readonly Lock _gate = new();
    private bool _outage;
    private int _consecutiveFailures;
    private long _retryAt;
    private int _probing;
    private long _outages;
    private long _fallbacks;
    private int _disposed;

    public ValkeyRateLimiter(ValkeyEndpoint endpoint, int requestsPerMinute, TimeProvider time, RequestRateLimiterOptions options, LocalRateLimiter local)
    {
        _pool = new ValkeyConnectionPool(endpoint, options.MaxConnections, options.ConnectTimeout, options.CommandTimeout, time);
        _limit = requestsPerMinute;
        _time = time;
        _options = options;
        _local = local;
    }

    /// <summary>Whether checks are currently counted in-process because Valkey is unreachable.</summary>
    internal bool InOutage
    {
        get
        {
            lock (_gate)
            {
                return _outage;
            }
        }
    }

    public async ValueTask<RateLimitLease> AcquireAsync(string bucketKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucketKey);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!TryEnterBackend(out var probe))
        {
            return Fallback(bucketKey);
        }

        try
        {
            var lease = await CountAsync(RequestRateLimiter.KeyPrefix + bucketKey, cancellationToken).ConfigureAwait(false);
            OnSuccess();
            if (!lease.Allowed)
            {
                RateLimitingTelemetry.Limited.Add(1);
            }

            return lease;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure of the shared store must fail open; it is reported, never raised to the request.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await OnFailureAsync(ex).ConfigureAwait(false);
            return Fallback(bucketKey);
        }
        finally
        {
            if (probe)
            {
                Volatile.Write(ref _probing, 0);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _pool.DisposeAsync().ConfigureAwait(false);
            await _local.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<RateLimitLease> CountAsync(string key, CancellationToken cancellationToken)
    {
        var reply = await _pool.ExecuteAsync(RespCodec.Encode("EVALSHA", ScriptSha, "1", key, WindowMs), cancellationToken).ConfigureAwait(false);
        if (reply.IsError && reply.Text!.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // First use on this server (or after SCRIPT FLUSH / failover): EVAL also caches the script for EVALSHA.
            reply = await _pool.ExecuteAsync(RespCodec.Encode("EVAL", Script, "1", key, WindowMs), cancellationToken).ConfigureAwait(false);
        }

        if (reply.IsError)
        {
            throw new ValkeyServerException("rate-limit script failed: " + reply.Text);
        }

        if (reply is not { Kind: RespKind.Array, Items: [{ Kind: RespKind.Integer } count, { Kind: RespKind.Integer } ttl] })
        {
            throw new RespProtocolException("unexpected rate-limit script reply: " + reply);
        }

        if (count.Integer <= _limit)
        {
            return new RateLimitLease(true, (int)(_limit - count.Integer), TimeSpan.Zero);
        }

        return new RateLimitLease(false, 0, TimeSpan.FromMilliseconds(Math.Clamp(ttl.Integer, 1, (long)RequestRateLimiter.Window.TotalMilliseconds)));
    }

    private bool TryEnterBackend(out bool probe)
    {
        probe = false;
        lock (_gate)
        {
            if (!_outage)
            {
                return true;
            }

            if (_time.GetTimestamp() < _retryAt)
            {
                return false;
            }
        }

        // While Valkey is down, one request at a time finds out whether it is back; the rest do not wait on it.
        probe = Interlocked.CompareExchange(ref _probing, 1, 0) == 0;
        return probe;
    }

    private RateLimitLease Fallback(string bucketKey)
    {
        Interlocked.Increment(ref _fallbacks);
        RateLimitingTelemetry.Fallbacks.Add(1);
        return _local.Acquire(bucketKey);
    }

    private void OnSuccess()
    {
        RateLimitBackendEvent? restored = null;
        lock (_gate)
        {
            _consecutiveFailures = 0;
            if (_outage)
            {
                _outage = false;
                restored = new RateLimitBackendEvent(RateLimitBackendEventKind.Restored, $"distributed rate limit: Valkey at {_pool.Endpoint} answers again; limits are shared by the fleet again", _outages, Interlocked.Read(ref _fallbacks));
            }
        }

        if (restored is { } e)
        {
            _options.OnBackendEvent?.Invoke(e);
        }
    }

    private async ValueTask OnFailureAsync(Exception failure)
    {
        RateLimitBackendEvent? unavailable = null;
        lock (_gate)
        {
            _consecutiveFailures++;
            var initial = _options.InitialReconnectBackoff.TotalSeconds;
            var backoff = Math.Min(_options.MaxReconnectBackoff.TotalSeconds, initial * Math.Pow(2, Math.Min(_consecutiveFailures - 1, 30)));
            _retryAt = _time.GetTimestamp() + (long)(backoff * _time.TimestampFrequency);
            if (!_outage)
            {
                _outage = true;
                _outages++;
                RateLimitingTelemetry.Outages.Add(1);
                unavailable = new RateLimitBackendEvent(
                    RateLimitBackendEventKind.Unavailable,
                    $"distributed rate limit: Valkey at {_pool.Endpoint} is unreachable ({Describe(failure)}); failing open, limits are counted per gateway instance until it answers",
                    _outages,
                    Interlocked.Read(ref _fallbacks) + 1);
            }
        }

        await _pool.ClearAsync().ConfigureAwait(false);
        if (unavailable is { } e)
        {
            _options.OnBackendEvent?.Invoke(e);
        }
    }

    private static string Describe(Exception failure) => failure switch
    {
        System.Net.Sockets.SocketException socket => socket.SocketErrorCode.ToString(),
        _ => failure.Message,
    };
}
