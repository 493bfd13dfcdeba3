namespace Keeptrusts.Testing;

/// <summary>
/// A clock for tests, linked into each test project that needs one, that moves only when told to, with timers.
/// <see cref="Advance"/> fires due timers in time order on the calling thread, so code waiting on this clock
/// continues deterministically inside the call.
/// </summary>
internal sealed class ManualTime : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;

    public ManualTime(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Timers that will fire (not disposed, not stopped).</summary>
    public int ActiveTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(static t => t.Due is not null);
            }
        }
    }

    /// <summary>How long until the next timer fires; null when none will.</summary>
    public TimeSpan? NextDue
    {
        get
        {
            lock (_gate)
            {
                var next = _timers.Where(static t => t.Due is not null).Select(static t => t.Due!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
                return next == DateTimeOffset.MaxValue ? null : next - _now;
            }
        }
    }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset end;
        lock (_gate)
        {
            end = _now + by;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.Due is { } d && d <= end).OrderBy(static t => t.Due).ThenBy(static t => t.Sequence).FirstOrDefault();
                if (due is null)
                {
                    _now = end;
                    return;
                }

                _now = due.Due!.Value;
                due.Due = due.Period is { } period ? _now + period : null;
            }

            due.Fire();
        }
    }

    /// <summary>Moves to the next timer and fires it (and any due at the same instant). False when no timer is pending.</summary>
    public bool AdvanceToNext()
    {
        var next = NextDue;
        if (next is null)
        {
            return false;
        }

        Advance(next.Value < TimeSpan.Zero ? TimeSpan.Zero : next.Value);
        return true;
    }

    private sealed class ManualTimer(ManualTime owner, TimerCallback callback, object? state) : ITimer
    {
        private static long _sequences;

        public long Sequence { get; } = Interlocked.Increment(ref _sequences);

        public DateTimeOffset? Due { get; set; }

        public TimeSpan? Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }

                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
            }

            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                Due = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
