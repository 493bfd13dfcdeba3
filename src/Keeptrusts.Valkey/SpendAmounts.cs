namespace Keeptrusts.Valkey;

/// <summary>
/// Spend in Valkey is counted in whole nano-dollars (10⁻⁹ USD), so the Lua scripts add integers exactly (Lua numbers
/// are doubles: exact up to 2⁵³ nano-dollars, about 9 million USD per key and day, which <see cref="MaxUsd"/> caps).
/// Amounts are rounded up, so the store never counts less than was spent.
/// </summary>
internal static class SpendAmounts
{
    public const long NanosPerUsd = 1_000_000_000;

    /// <summary>The largest amount kept exactly: 2⁵³ nano-dollars.</summary>
    public const long MaxNanos = 1L << 53;

    public static readonly decimal MaxUsd = MaxNanos / (decimal)NanosPerUsd;

    public static long ToNanos(decimal usd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usd);
        return usd >= MaxUsd ? MaxNanos : (long)decimal.Ceiling(usd * NanosPerUsd);
    }

    public static decimal ToUsd(long nanos) => nanos / (decimal)NanosPerUsd;
}
