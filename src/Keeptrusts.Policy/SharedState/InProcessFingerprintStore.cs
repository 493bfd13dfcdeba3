using System.Collections.Concurrent;

namespace Keeptrusts.Policy.SharedState;

/// <summary>
/// Fingerprints held in this process until their window ends. Used when no shared store is configured and as the
/// fail-open fallback while it is unreachable.
/// </summary>
internal sealed class InProcessFingerprintStore(TimeProvider time) : IFingerprintStore
{
    /// <summary>Above this many entries, expired ones are swept out so memory stays bounded by the traffic of one window.</summary>
    internal const int SweepThreshold = 10_000;

    private const int SweepEvery = 1024;

    private readonly ConcurrentDictionary<string, long> _expiry = new(StringComparer.Ordinal);
    private int _sinceSweep;

    internal int Count => _expiry.Count;

    public ValueTask<bool> TryRecordAsync(string fingerprint, TimeSpan window, CancellationToken cancellationToken) => new(TryRecord(fingerprint, window));

    public bool TryRecord(string fingerprint, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        var now = time.GetUtcNow().UtcTicks;
        if (Interlocked.Increment(ref _sinceSweep) >= SweepEvery)
        {
            Volatile.Write(ref _sinceSweep, 0);
            Sweep(now);
        }

        var until = now + window.Ticks;
        while (true)
        {
            if (_expiry.TryAdd(fingerprint, until))
            {
                return true;
            }

            if (!_expiry.TryGetValue(fingerprint, out var current))
            {
                continue;
            }

            if (current > now)
            {
                return false;
            }

            // Expired: whoever swaps the old expiry for a new one is the first sighting of the new window.
            if (_expiry.TryUpdate(fingerprint, until, current))
            {
                return true;
            }
        }
    }

    private void Sweep(long now)
    {
        if (_expiry.Count <= SweepThreshold)
        {
            return;
        }

        foreach (var (key, until) in _expiry)
        {
            if (until <= now)
            {
                _expiry.TryRemove(new KeyValuePair<string, long>(key, until));
            }
        }
    }
}
