using Keeptrusts.Policy.Policies;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

/// <summary>
/// Wraps a store and checks the budget invariants after every operation, one operation at a time, while the
/// requests that call it run concurrently: what is reserved plus what is settled always equals the store's count,
/// outstanding reservations never exceed the limit, and the count never exceeds the limit by more than the
/// overruns (actual − estimate) already settled.
/// </summary>
internal sealed class AuditingSpendStore(ISpendStore inner, string key, decimal limit) : ISpendStore
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<string> _violations = [];
    private readonly Dictionary<string, decimal> _open = [];

    public decimal Outstanding { get; private set; }

    public decimal Settled { get; private set; }

    public decimal Overrun { get; private set; }

    public int Reservations { get; private set; }

    public IReadOnlyList<string> Violations => _violations;

    public async ValueTask<SpendReservationResult> TryReserveAsync(IReadOnlyList<SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var result = await inner.TryReserveAsync(keys, amountUsd, day, cancellationToken);
            if (result.Reservation is { } reservation)
            {
                _open.Add(reservation.Id, amountUsd);
                Outstanding += amountUsd;
                Reservations++;
            }

            await CheckAsync(day, "reserve");
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask SettleAsync(SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await inner.SettleAsync(reservation, actualUsd, cancellationToken);
            if (_open.Remove(reservation.Id, out var amount))
            {
                Outstanding -= amount;
                Settled += actualUsd;
                Overrun += Math.Max(0, actualUsd - amount);
            }

            await CheckAsync(reservation.Day, "settle");
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await inner.ReleaseAsync(reservation, cancellationToken);
            if (_open.Remove(reservation.Id, out var amount))
            {
                Outstanding -= amount;
            }

            await CheckAsync(reservation.Day, "release");
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken) => inner.GetSpendAsync(key, day, cancellationToken);

    private async ValueTask CheckAsync(DateOnly day, string operation)
    {
        var spent = await inner.GetSpendAsync(key, day, CancellationToken.None);
        if (spent != Outstanding + Settled)
        {
            _violations.Add($"after {operation}: store counts {spent}, expected reserved {Outstanding} + settled {Settled}");
        }

        if (Outstanding > limit)
        {
            _violations.Add($"after {operation}: outstanding estimates {Outstanding} exceed the limit {limit}");
        }

        if (spent > limit + Overrun)
        {
            _violations.Add($"after {operation}: spend {spent} exceeds the limit {limit} by more than the overruns {Overrun}");
        }
    }
}
