namespace Keeptrusts.Providers.Streaming;

/// <summary>The per-attempt timer, driven by a <see cref="TimeProvider"/> so tests can move time instead of waiting.</summary>
internal static class AttemptTimeout
{
    // CancellationTokenSource accepts at most uint.MaxValue - 1 milliseconds.
    private static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    /// <summary>Whether <paramref name="timeout"/> limits anything; zero, negative and infinite values mean no limit.</summary>
    public static bool IsLimited(TimeSpan timeout) => timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan;

    public static CancellationTokenSource Start(TimeSpan timeout, TimeProvider time)
        => IsLimited(timeout) ? new CancellationTokenSource(Clamp(timeout), time) : new CancellationTokenSource();

    /// <summary>Restarts the timer (used between streamed events, where the timeout is an idle timeout).</summary>
    public static void Restart(CancellationTokenSource source, TimeSpan timeout)
    {
        if (IsLimited(timeout) && !source.IsCancellationRequested)
        {
            source.CancelAfter(Clamp(timeout));
        }
    }

    public static string Describe(TimeSpan timeout) => timeout.TotalSeconds >= 1 ? $"{timeout.TotalSeconds:0.###} s" : $"{timeout.TotalMilliseconds:0} ms";

    /// <summary>Cancels a source that may already be disposed (a callback can race with disposal).</summary>
    public static void CancelQuietly(object? state)
    {
        try
        {
            ((CancellationTokenSource)state!).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already released: nothing left to cancel.
        }
    }

    private static TimeSpan Clamp(TimeSpan timeout) => timeout > Longest ? Longest : timeout;
}
