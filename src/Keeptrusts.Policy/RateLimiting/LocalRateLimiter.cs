using System.Collections.Concurrent;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>
/// Fixed windows counted in this process. A bucket's window starts with its first request and lasts
/// <c>window</c>; the next request after that starts a new one. Used when no Valkey is configured and as the
/// fail-open fallback while Valkey is unreachable.
/// </summary>
internal sealed class LocalRateLimiter : IRequestRateLimiter
{
    /// <summary>Above this many buckets, expired ones are swept out so per-user buckets cannot grow without bound.</summary>
    internal const int SweepThreshold = 10_000;

    private const int SweepEvery = 1024;

    private readonly ConcurrentDictionary<string, Counter> _buckets = new(StringComparer.Ordinal);
    private readonly int _limit;
    private readonly long _windowTicks;
    private readonly TimeProvider _time;
    private int _sinceSweep;

    public LocalRateLimiter(int requestsPerWindow, TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerWindow, 1);
        _limit = requestsPerWindow;
        _time = time;
        _windowTicks = window.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond;
    }

    /// <summary>The number of buckets currently held, for tests of the sweep.</summary>
    internal int BucketCount => _buckets.Count;

    public ValueTask<RateLimitLease> AcquireAsync(string bucketKey, CancellationToken cancellationToken) => new(Acquire(bucketKey));

    public RateLimitLease Acquire(string bucketKey)
    {
        ArgumentNullException.ThrowIfNull(bucketKey);
        var now = _time.GetTimestamp();
        if (Interlocked.Increment(ref _sinceSweep) >= SweepEvery)
        {
            Volatile.Write(ref _sinceSweep, 0);
            Sweep(now);
        }

        var counter = _buckets.GetOrAdd(bucketKey, static _ => new Counter());
        lock (counter)
        {
            if (counter.Count == 0 || now - counter.Start >= _windowTicks || now < counter.Start)
            {
                counter.Start = now;
                counter.Count = 0;
            }

            // Capped one past the limit: a flood cannot overflow the count.
            if (counter.Count <= _limit)
            {
                counter.Count++;
            }

            if (counter.Count <= _limit)
            {
                return new RateLimitLease(true, _limit - counter.Count, TimeSpan.Zero);
            }

            RateLimitingTelemetry.Limited.Add(1);
            var left = _windowTicks - (now - counter.Start);
            // Rounded up, so a caller that waits exactly this long finds a new window.
            return new RateLimitLease(false, 0, TimeSpan.FromTicks(((left * TimeSpan.TicksPerSecond) + _time.TimestampFrequency - 1) / _time.TimestampFrequency));
        }
    }

    public ValueTask DisposeAsync()
    {
        _buckets.Clear();
        return ValueTask.CompletedTask;
    }

    private void Sweep(long now)
    {
        if (_buckets.Count <= SweepThreshold)
        {
            return;
        }

        foreach (var (key, counter) in _buckets)
        {
            bool expired;
            lock (counter)
            {
                expired = now - counter.Start >= _windowTicks;
            }

            // A request racing with the removal may count into the removed window; the next request starts a fresh
            // one, so at worst one request of an already-expired window goes uncounted.
            if (expired)
            {
                _buckets.TryRemove(new KeyValuePair<string, Counter>(key, counter));
            }
        }
    }

    private sealed class Counter
    {
        public long Start;
        public int Count;
    }
}
