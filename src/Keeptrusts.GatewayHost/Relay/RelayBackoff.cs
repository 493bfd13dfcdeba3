namespace Keeptrusts.GatewayHost.Relay;

/// <summary>The reconnect delay: <c>initial × 2^failures</c>, at most the maximum, plus up to <c>jitter</c> of itself.</summary>
internal static class RelayBackoff
{
    /// <param name="failures">Connections that failed since the last stable one (0 for the first retry).</param>
    /// <param name="initial">The first delay.</param>
    /// <param name="max">The cap before jitter.</param>
    /// <param name="jitter">The most extra, as a fraction of the delay (0 to 1).</param>
    /// <param name="random">A number in [0, 1).</param>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double jitter, double random)
    {
        var baseTicks = initial.Ticks;
        for (var i = 0; i < failures && baseTicks < max.Ticks; i++)
        {
            baseTicks *= 2;
        }

        baseTicks = Math.Min(baseTicks, max.Ticks);
        var extra = (long)(baseTicks * Math.Clamp(jitter, 0, 1) * Math.Clamp(random, 0, 1));
        return TimeSpan.FromTicks(baseTicks + extra);
    }
}
