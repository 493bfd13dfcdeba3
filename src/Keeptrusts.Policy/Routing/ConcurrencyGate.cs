namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Bounds concurrent upstream attempts with a first-in-first-out wait queue, and adapts the bound to upstream
/// pressure (AIMD): a 429 halves the effective limit (floor 1), each success adds 1/limit back (about one slot per
/// limit's worth of successes), up to the configured maximum. A burst of 429s from attempts admitted before the last
/// decrease counts once, so one overloaded moment does not collapse the limit.
/// </summary>
internal sealed class ConcurrencyGate
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly int _max;
    private readonly int _maxQueue;
    private double _limit;
    private int _inFlight;
    private long _admissions;
    private long _decreasedAt = -1;
    private long _rejected;

    public ConcurrencyGate(int max, int maxQueue)
    {
        _max = max;
        _maxQueue = maxQueue;
        _limit = max;
    }

    /// <summary>Raised (outside the lock) with the new effective limit whenever it changes.</summary>
    public event Action<int>? LimitChanged;

    public int Max => _max;

    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return EffectiveLimit;
            }
        }
    }

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public long Rejected => Interlocked.Read(ref _rejected);

    private int EffectiveLimit => Math.Max(1, (int)_limit);

    /// <summary>
    /// Takes a slot, waiting in line when none is free. Returns null at once when the line is full. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires while waiting.
    /// </summary>
    public ValueTask<Lease?> EnterAsync(CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            if (_queue.Count == 0 && _inFlight < EffectiveLimit)
            {
                _inFlight++;
                return ValueTask.FromResult<Lease?>(new Lease(this, _admissions++));
            }

            if (_queue.Count >= _maxQueue)
            {
                _rejected++;
                return ValueTask.FromResult<Lease?>(null);
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter();
            waiter.Node = _queue.AddLast(waiter);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    /// <summary>An upstream answered 429 to an attempt admitted as <paramref name="admission"/>.</summary>
    public void OnRateLimited(long admission)
    {
        int limit;
        lock (_gate)
        {
            if (admission < _decreasedAt)
            {
                return;
            }

            var before = EffectiveLimit;
            _limit = Math.Max(1, _limit / 2);
            _decreasedAt = _admissions;
            limit = EffectiveLimit;
            if (limit == before)
            {
                return;
            }
        }

        LimitChanged?.Invoke(limit);
    }

    /// <summary>An upstream answered an attempt successfully.</summary>
    public void OnSuccess()
    {
        List<Waiter>? wake;
        int limit;
        lock (_gate)
        {
            if (_limit >= _max)
            {
                return;
            }

            var before = EffectiveLimit;
            _limit = Math.Min(_max, _limit + (1 / _limit));
            limit = EffectiveLimit;
            if (limit == before)
            {
                return;
            }

            wake = AdmitWaiters();
        }

        Wake(wake);
        LimitChanged?.Invoke(limit);
    }

    private void Release()
    {
        List<Waiter>? wake;
        lock (_gate)
        {
            _inFlight--;
            wake = AdmitWaiters();
        }

        Wake(wake);
    }

    private List<Waiter>? AdmitWaiters()
    {
        List<Waiter>? wake = null;
        while (_queue.First is { } first && _inFlight < EffectiveLimit)
        {
            _queue.RemoveFirst();
            first.Value.Node = null;
            first.Value.Admission = _admissions++;
            _inFlight++;
            (wake ??= []).Add(first.Value);
        }

        return wake;
    }

    private void Wake(List<Waiter>? wake)
    {
        if (wake is null)
        {
            return;
        }

        foreach (var waiter in wake)
        {
            // The waiter's continuation runs elsewhere (RunContinuationsAsynchronously), never inside this release.
            waiter.Completion.TrySetResult(new Lease(this, waiter.Admission));
        }
    }

    private async ValueTask<Lease?> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.UnsafeRegister(static (state, token) =>
        {
            var (gate, waiter) = ((ConcurrencyGate, Waiter))state!;
            gate.Abandon(waiter, token);
        }, (this, waiter));
        return await waiter.Completion.Task.ConfigureAwait(false);
    }

    private void Abandon(Waiter waiter, CancellationToken token)
    {
        lock (_gate)
        {
            if (waiter.Node is null)
            {
                // Already admitted: the waiter owns a slot and releases it through its lease.
                return;
            }

            _queue.Remove(waiter.Node);
            waiter.Node = null;
        }

        waiter.Completion.TrySetCanceled(token);
    }

    private sealed class Waiter
    {
        public TaskCompletionSource<Lease?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public long Admission { get; set; }
    }

    /// <summary>One slot; released once, however often disposed.</summary>
    internal sealed class Lease(ConcurrencyGate gate, long admission)
    {
        private int _released;

        /// <summary>The admission number, used to count a burst of 429s once.</summary>
        public long Admission { get; } = admission;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
