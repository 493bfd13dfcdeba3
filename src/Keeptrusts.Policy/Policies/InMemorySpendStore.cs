namespace Keeptrusts.Policy.Policies;

/// <summary>
/// A process-local <see cref="ISpendStore"/>: exact (decimal) and atomic under one lock. Days older than the
/// previous one are forgotten as new days begin, so memory stays bounded.
/// </summary>
internal sealed class InMemorySpendStore : ISpendStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Key, DateOnly Day), decimal> _spent = [];
    private DateOnly _newestDay;

    public ValueTask<SpendReservationResult> TryReserveAsync(IReadOnlyList<SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Forget(day);
            foreach (var key in keys)
            {
                var spent = _spent.GetValueOrDefault((key.Key, day));
                if (spent + amountUsd > key.LimitUsd)
                {
                    return ValueTask.FromResult(new SpendReservationResult(null, key, spent));
                }
            }

            foreach (var key in keys)
            {
                _spent[(key.Key, day)] = _spent.GetValueOrDefault((key.Key, day)) + amountUsd;
            }

            var reservation = new SpendReservation(Guid.NewGuid().ToString("N"), keys.Select(static k => k.Key).ToArray(), amountUsd, day);
            return ValueTask.FromResult(new SpendReservationResult(reservation, null, 0));
        }
    }

    public ValueTask SettleAsync(SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
    {
        Adjust(reservation, actualUsd - reservation.AmountUsd);
        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        Adjust(reservation, -reservation.AmountUsd);
        return ValueTask.CompletedTask;
    }

    public ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_spent.GetValueOrDefault((key, day)));
        }
    }

    private void Adjust(SpendReservation reservation, decimal delta)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        lock (_gate)
        {
            foreach (var key in reservation.Keys)
            {
                if (_spent.TryGetValue((key, reservation.Day), out var spent))
                {
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
    }
}
