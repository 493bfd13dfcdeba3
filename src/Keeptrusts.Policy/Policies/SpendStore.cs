namespace Keeptrusts.Policy.Policies;

/// <summary>
/// Where spend is counted. Reservations make concurrent requests safe: the estimated cost is reserved before a
/// request leaves and settled to the actual cost when it completes, so two requests can never both pass a limit
/// that only one of them fits under. Implementations must make <see cref="TryReserveAsync"/> atomic per key.
/// </summary>
public interface ISpendStore
{
    /// <summary>Reserves <paramref name="amountUsd"/> against every key, only if each stays within its limit.</summary>
    /// <param name="keys">The budget keys, each with its limit in USD (e.g. global, per user, per team).</param>
    /// <param name="amountUsd">The estimated cost to reserve.</param>
    /// <param name="day">The budget day the spend belongs to.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A reservation when every key had room; otherwise the first key that did not.</returns>
    ValueTask<SpendReservationResult> TryReserveAsync(IReadOnlyList<SpendKey> keys, decimal amountUsd, DateOnly day, CancellationToken cancellationToken);

    /// <summary>Replaces a reservation with the actual cost (which may be more or less than reserved).</summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="actualUsd">The actual cost.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the spend is recorded.</returns>
    ValueTask SettleAsync(SpendReservation reservation, decimal actualUsd, CancellationToken cancellationToken);

    /// <summary>Releases a reservation that will not be used (the request failed or was blocked).</summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the reservation is released.</returns>
    ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken);

    /// <summary>The spend recorded and reserved for a key on a day.</summary>
    /// <param name="key">The budget key.</param>
    /// <param name="day">The day.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The spend in USD, reservations included.</returns>
    ValueTask<decimal> GetSpendAsync(string key, DateOnly day, CancellationToken cancellationToken);
}

/// <summary>A budget key and its daily limit.</summary>
/// <param name="Key">The key, such as <c>global</c>, <c>user:alice</c> or <c>team:payments</c>.</param>
/// <param name="LimitUsd">The daily limit in USD.</param>
public readonly record struct SpendKey(string Key, decimal LimitUsd);

/// <summary>An amount held against budget keys.</summary>
/// <param name="Id">The reservation id.</param>
/// <param name="Keys">The keys it is held against.</param>
/// <param name="AmountUsd">The amount held.</param>
/// <param name="Day">The budget day.</param>
public sealed record SpendReservation(string Id, IReadOnlyList<string> Keys, decimal AmountUsd, DateOnly Day);

/// <summary>The result of a reservation attempt.</summary>
/// <param name="Reservation">The reservation, when every key had room.</param>
/// <param name="ExceededKey">The first key that had no room, otherwise.</param>
/// <param name="SpentUsd">What that key had already spent and reserved.</param>
public readonly record struct SpendReservationResult(SpendReservation? Reservation, SpendKey? ExceededKey, decimal SpentUsd);

/// <summary>Creates the built-in spend stores.</summary>
public static class SpendStores
{
    /// <summary>
    /// A store in this process's memory: exact and atomic, forgetting days older than the previous one. Share one
    /// instance between engines that replace each other (a configuration reload) so spend survives the swap.
    /// </summary>
    /// <returns>A new, empty store.</returns>
    public static ISpendStore CreateInMemory() => new InMemorySpendStore();
}
