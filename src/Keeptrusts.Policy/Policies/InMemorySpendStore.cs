namespace Keeptrusts.Policy.Policies;

/// <summary>
/// A process-local <see cref="ISpendStore"/>: exact (decimal) and atomic under one lock. Days older than the
/// previous one are forgotten as new days begin, so memory stays bounded.
/// </summary>
/// <remarks>
/// A reservation is settled or released at most once: the store remembers which reservations are still open, so a
/// second settle or release of the same reservation (a retried call, a release after a settle) changes nothing
/// instead of taking away spend that belongs to other requests.
/// </remarks>
internal sealed class InMemorySpendStore : ISpendStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Key, DateOnly Day), decimal> _spent = [];
    private readonly Dictionary<string, DateOnly> _open = new(StringComparer.Ordinal);
    private DateOnly _newestDay;

    public ValueTask<SpendReservationResult> TryReserveAsync(IReadOnlyList<SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentOutOfRangeException.ThrowIfNegative(amountUsd);

        // The same key twice would be checked once and charged twice.
        var distinct = keys.DistinctBy(static k => k.Key, StringComparer.Ordinal).ToArray();
        lock (_gate)
        {
            Forget(day);
            foreach (var key in distinct)
            {
                var spent = _spent.GetValueOrDefault((key.Key, day));
                if (spent + amountUsd > key.LimitUsd)
                {
                    return ValueTask.FromResult(new SpendReservationResult(null, key, spent));
                }
            }

            foreach (var key in distinct)
            {
                _spent[(key.Key, day)] = _spent.GetValueOrDefault((key.Key, day)) + amountUsd;
            }

            var reservation = new SpendReservation(Guid.NewGuid().ToString("N"), distinct.Select(static k => k.Key).ToArray(), amountUsd, day);
            _open.Add(reservation.Id, day);
            return ValueTask.FromResult(new SpendReservationResult(reservation, null, 0));
        }
    }

    public ValueTask SettleAsync(SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        Close(reservation, actualUsd - reservation.AmountUsd);
        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        Close(reservation, -reservation.AmountUsd);
        return ValueTask.CompletedTask;
    }

    public ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_spent.GetValueOrDefault((key, day)));
        }
    }

    private void Close(SpendReservation reservation, decimal delta)
    {
        lock (_gate)
        {
            if (!_open.Remove(reservation.Id))
            {
                return;
            }

            foreach (var key in reservation.Keys)
            {
                if (_spent.TryGetValue((key, reservation.Day), out var spent))
                {
                    // Only the reservation's own amount is ever taken away, so this stays at or above zero; the clamp
                    // guards against a reservation object forged with a larger amount than was reserved.
                    _spent[(key, reservation.Day)] = Math.Max(0, spent + delta);
                }
            }
        }
    }

    private void Forget(DateOnly day)
    {
        if (day <= _newestDay)
        {
            return;
        }

        _newestDay = day;
        var cutoff = day.AddDays(-1);
        foreach (var entry in _spent.Keys.Where(k => k.Day < cutoff).ToList())
        {
            _spent.Remove(entry);
        }

        // A reservation of a forgotten day has nothing left to adjust; its id need not be kept either.
        foreach (var id in _open.Where(e => e.Value < cutoff).Select(static e => e.Key).ToList())
        {
            _open.Remove(id);
        }
    }
}
