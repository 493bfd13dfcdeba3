using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>
/// The reservation one exchange holds, kept in its <see cref="ExchangeState"/> from the input phase to the end of
/// the exchange, and closed exactly once: settled to the reported usage when there is any, settled at the estimate
/// when a response came without usage (unknown is not free), and released when no response came at all (blocked
/// later in the chain, or the upstream call failed).
/// </summary>
internal sealed class SpendHold(ISpendStore store, ExchangeState exchange) : IAsyncDisposable
{
    private Held? _held;
    private volatile bool _responded;

    public void Hold(SpendReservation reservation, ModelPricing pricing)
    {
        if (Interlocked.CompareExchange(ref _held, new Held(reservation, pricing), null) is not null)
        {
            throw new InvalidOperationException("A spend hold already holds a reservation; release it first.");
        }
    }

    /// <summary>Settles to the usage, when known; otherwise remembers that a response came, for <see cref="DisposeAsync"/>.</summary>
    public async ValueTask<decimal?> SettleAsync(TokenUsage? usage, CancellationToken cancellationToken)
    {
        _responded = true;
        if (usage is not { } known || Interlocked.Exchange(ref _held, null) is not { } held)
        {
            return null;
        }

        var actual = SpendPricing.Cost(held.Pricing, known);
        await store.SettleAsync(held.Reservation, actual, cancellationToken).ConfigureAwait(false);
        return actual;
    }

    /// <summary>Releases the reservation, if one is held, e.g. before the input phase runs again.</summary>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken)
    {
        _responded = false;
        if (Interlocked.Exchange(ref _held, null) is { } held)
        {
            await store.ReleaseAsync(held.Reservation, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _held, null) is not { } held)
        {
            return;
        }

        try
        {
            if (exchange.Usage is { } usage)
            {
                // The provider reported usage, so it billed the call, even if a later policy refused the response.
                await store.SettleAsync(held.Reservation, SpendPricing.Cost(held.Pricing, usage), CancellationToken.None).ConfigureAwait(false);
            }
            else if (_responded)
            {
                await store.SettleAsync(held.Reservation, held.Reservation.AmountUsd, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await store.ReleaseAsync(held.Reservation, CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Ending an exchange must not fail because a store is unreachable; a shared store expires what it was not told.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private sealed record Held(SpendReservation Reservation, ModelPricing Pricing);
}
