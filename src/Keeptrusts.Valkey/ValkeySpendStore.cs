using System.Globalization;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// Spend shared through Valkey. Per budget key and day there are three keys: the settled total
/// (<c>spend:{day}:{key}:settled</c>, nano-dollars), the open reservations (<c>…:held</c>, a hash id → amount) and
/// their deadlines (<c>…:expiry</c>, a sorted set id → unix ms). Reserving is one script: it drops reservations past
/// their deadline (a crashed instance's), sums settled and held, and holds the amount on every key only if each
/// stays within its limit. Settling or releasing is one script too, guarded by a marker
/// (<c>spend:closed:{id}</c>) so a reservation is closed at most once.
/// </summary>
/// <remarks>
/// While Valkey is unreachable, reservations go to an in-process store when the spend fail mode is allow (each
/// instance then holds the budget alone), or fail when it is block, so the spend-limit policy errors and the engine's
/// fail mode refuses the request. A settle that cannot reach Valkey is counted in-process; the reservation it
/// closes expires in Valkey after the reservation timeout.
/// </remarks>
internal sealed class ValkeySpendStore : ISpendStore
{
    internal const string ReserveScript = """
        local now = tonumber(ARGV[1])
        local amount = tonumber(ARGV[3])
        local n = #KEYS / 3
        for i = 0, n - 1 do
          local held, expiry = KEYS[i * 3 + 2], KEYS[i * 3 + 3]
          local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
          for _, id in ipairs(gone) do redis.call('HDEL', held, id) end
          if #gone > 0 then redis.call('ZREMRANGEBYSCORE', expiry, '-inf', now) end
          local total = tonumber(redis.call('GET', KEYS[i * 3 + 1]) or '0')
          for _, v in ipairs(redis.call('HVALS', held)) do total = total + tonumber(v) end
          if total + amount > tonumber(ARGV[6 + i]) then return {0, i, tostring(total)} end
        end
        for i = 0, n - 1 do
          redis.call('HSET', KEYS[i * 3 + 2], ARGV[4], ARGV[3])
          redis.call('ZADD', KEYS[i * 3 + 3], ARGV[2], ARGV[4])
          redis.call('PEXPIRE', KEYS[i * 3 + 2], ARGV[5])
          redis.call('PEXPIRE', KEYS[i * 3 + 3], ARGV[5])
        end
        return {1, -1, '0'}
        """;

    internal const string CloseScript = """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
        local n = (#KEYS - 1) / 3
        for i = 0, n - 1 do
          redis.call('HDEL', KEYS[i * 3 + 3], ARGV[2])
          redis.call('ZREM', KEYS[i * 3 + 4], ARGV[2])
          if tonumber(ARGV[1]) > 0 then
            redis.call('INCRBY', KEYS[i * 3 + 2], ARGV[1])
            redis.call('PEXPIRE', KEYS[i * 3 + 2], ARGV[3])
          end
        end
        return 1
        """;

    private const string LocalPrefix = "local:";

    /// <summary>How long a day's keys live: the day and the one after it, as the in-process store keeps them.</summary>
    private static readonly TimeSpan DayKeyLifetime = TimeSpan.FromDays(3);

    private readonly ValkeyBackend _backend;
    private readonly TimeSpan _reservationTimeout;
    private readonly TimeProvider _time;
    private readonly FailMode _failMode;
    private readonly ISpendStore _fallback = SpendStores.CreateInMemory();

    public ValkeySpendStore(ValkeyBackend backend, TimeSpan reservationTimeout, TimeProvider time, FailMode failMode)
    {
        _backend = backend;
        _reservationTimeout = reservationTimeout;
        _time = time;
        _failMode = failMode;
    }

    internal static string SettledKey(string key, DateOnly day) => Prefix(key, day) + ":settled";

    public async ValueTask<SpendReservationResult> TryReserveAsync(IReadOnlyList<SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentOutOfRangeException.ThrowIfNegative(amountUsd);
        var distinct = keys.DistinctBy(static k => k.Key, StringComparer.Ordinal).ToArray();
        if (!_backend.Health.IsUsable())
        {
            return await FallbackReserveAsync(distinct, amountUsd, day, null, cancellationToken).ConfigureAwait(false);
        }

        var id = Guid.NewGuid().ToString("N");
        var amount = SpendAmounts.ToNanos(amountUsd);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var redisKeys = new RedisKey[distinct.Length * 3];
        var args = new RedisValue[5 + distinct.Length];
        args[0] = now;
        args[1] = now + (long)_reservationTimeout.TotalMilliseconds;
        args[2] = amount;
        args[3] = id;
        args[4] = (long)DayKeyLifetime.TotalMilliseconds;
        for (var i = 0; i < distinct.Length; i++)
        {
            var prefix = Prefix(distinct[i].Key, day);
            redisKeys[i * 3] = prefix + ":settled";
            redisKeys[(i * 3) + 1] = prefix + ":held";
            redisKeys[(i * 3) + 2] = prefix + ":expiry";
            // A limit is floored, so rounding never lets spend pass it.
            args[5 + i] = distinct[i].LimitUsd <= 0 ? 0 : (long)decimal.Floor(Math.Min(distinct[i].LimitUsd, SpendAmounts.MaxUsd) * SpendAmounts.NanosPerUsd);
        }

        RedisResult[] reply;
        try
        {
            reply = (RedisResult[])(await _backend.Database.ScriptEvaluateAsync(ReserveScript, redisKeys, args).WaitAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _backend.Health.Failed(ex);
            return await FallbackReserveAsync(distinct, amountUsd, day, ex, cancellationToken).ConfigureAwait(false);
        }

        _backend.Health.Succeeded();
        if ((long)reply[0] == 1)
        {
            return new SpendReservationResult(new SpendReservation(id, distinct.Select(static k => k.Key).ToArray(), amountUsd, day), null, 0);
        }

        var exceeded = distinct[(int)(long)reply[1]];
        var spent = SpendAmounts.ToUsd(long.Parse((string)reply[2]!, NumberStyles.Integer, CultureInfo.InvariantCulture));
        return new SpendReservationResult(null, exceeded, spent);
    }

    public ValueTask SettleAsync(SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        return CloseAsync(reservation, actualUsd, cancellationToken);
    }

    public ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return CloseAsync(reservation, null, cancellationToken);
    }

    public async ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var local = await _fallback.GetSpendAsync(key, day, cancellationToken).ConfigureAwait(false);
        if (!_backend.Health.IsUsable())
        {
            return local;
        }

        try
        {
            var prefix = Prefix(key, day);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var settledTask = _backend.Database.StringGetAsync(prefix + ":settled");
            var heldTask = _backend.Database.HashGetAllAsync(prefix + ":held");
            var expiryTask = _backend.Database.SortedSetRangeByScoreWithScoresAsync(prefix + ":expiry", now, double.PositiveInfinity, Exclude.Start);
            await Task.WhenAll(settledTask, heldTask, expiryTask).WaitAsync(cancellationToken).ConfigureAwait(false);
            var live = expiryTask.Result.Select(static e => (string)e.Element!).ToHashSet(StringComparer.Ordinal);
            var total = settledTask.Result.IsNull ? 0 : (long)settledTask.Result;
            total += heldTask.Result.Where(h => live.Contains((string)h.Name!)).Sum(static h => (long)h.Value);
            _backend.Health.Succeeded();
            return SpendAmounts.ToUsd(total) + local;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _backend.Health.Failed(ex);
            return local;
        }
    }

    private static string Prefix(string key, DateOnly day) =>
        string.Concat("spend:", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), ":", Policy.RateLimiting.RequestRateLimiter.Component(key));

    private async ValueTask<SpendReservationResult> FallbackReserveAsync(SpendKey[] keys, decimal amountUsd, DateOnly day, Exception? failure, CancellationToken cancellationToken)
    {
        if (_failMode == FailMode.Block)
        {
            throw new InvalidOperationException($"the shared spend store (Valkey) is unreachable{(failure is null ? string.Empty : $" ({failure.GetType().Name})")}; fail mode block refuses spend it cannot count", failure);
        }

        var result = await _fallback.TryReserveAsync(keys, amountUsd, day, cancellationToken).ConfigureAwait(false);
        return result.Reservation is { } held ? result with { Reservation = held with { Id = LocalPrefix + held.Id } } : result;
    }

    private async ValueTask CloseAsync(SpendReservation reservation, decimal? actualUsd, CancellationToken cancellationToken)
    {
        if (reservation.Id.StartsWith(LocalPrefix, StringComparison.Ordinal))
        {
            var inner = reservation with { Id = reservation.Id[LocalPrefix.Length..] };
            await (actualUsd is { } actual ? _fallback.SettleAsync(inner, actual, cancellationToken) : _fallback.ReleaseAsync(inner, cancellationToken)).ConfigureAwait(false);
            return;
        }

        if (_backend.Health.IsUsable())
        {
            var redisKeys = new RedisKey[1 + (reservation.Keys.Count * 3)];
            redisKeys[0] = "spend:closed:" + reservation.Id;
            for (var i = 0; i < reservation.Keys.Count; i++)
            {
                var prefix = Prefix(reservation.Keys[i], reservation.Day);
                redisKeys[1 + (i * 3)] = prefix + ":settled";
                redisKeys[2 + (i * 3)] = prefix + ":held";
                redisKeys[3 + (i * 3)] = prefix + ":expiry";
            }

            RedisValue[] args = [actualUsd is { } usd ? SpendAmounts.ToNanos(usd) : 0, reservation.Id, (long)DayKeyLifetime.TotalMilliseconds];
            try
            {
                await _backend.Database.ScriptEvaluateAsync(CloseScript, redisKeys, args).WaitAsync(cancellationToken).ConfigureAwait(false);
                _backend.Health.Succeeded();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _backend.Health.Failed(ex);
            }
        }

        // Valkey is away: the held amount expires there on its own; what was actually spent is counted here, so this
        // instance still holds the budget for it.
        if (actualUsd is { } spent && spent > 0)
        {
            var keys = reservation.Keys.Select(static k => new SpendKey(k, decimal.MaxValue)).ToArray();
            if ((await _fallback.TryReserveAsync(keys, spent, reservation.Day, cancellationToken).ConfigureAwait(false)).Reservation is { } held)
            {
                await _fallback.SettleAsync(held, spent, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
