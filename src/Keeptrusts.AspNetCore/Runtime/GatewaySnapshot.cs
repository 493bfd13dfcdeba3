using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.AspNetCore;

/// <summary>
/// One configuration revision and everything built from it: the policy engine, the provider router and the identity
/// resolver. Immutable. A request takes a lease on the revision current when it starts and finishes on it even if a
/// reload swaps in another; a replaced revision is released (its audit log flushed and closed, its router stopped)
/// once its last request ends.
/// </summary>
public sealed class GatewaySnapshot
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _draining = new();
    private readonly Func<GatewaySnapshot, ValueTask> _release;
    private ITimer? _drainTimer;
    private int _references = 1;

    internal GatewaySnapshot(PolicyConfig config, PolicyEngine engine, ProviderRouter router, RuntimeIdentityResolver identity, string revision, DateTimeOffset loadedAt, IReadOnlyList<ConfigDiagnostic> diagnostics, int gatewayKeyCount, Func<GatewaySnapshot, ValueTask> release, IRequestRateLimiter? rateLimiter = null, Memory.MemoryRecall? memory = null)
    {
        RateLimiter = rateLimiter;
        Memory = memory;
        Config = config;
        Engine = engine;
        Router = router;
        Identity = identity;
        Revision = revision;
        LoadedAt = loadedAt;
        Diagnostics = diagnostics;
        GatewayKeyCount = gatewayKeyCount;
        AllowsTarget = engine.AllowsTarget;
        _release = release;
    }

    /// <summary>The configuration enforced.</summary>
    public PolicyConfig Config { get; }

    /// <summary>The policy engine of this revision.</summary>
    public PolicyEngine Engine { get; }

    /// <summary>The provider router of this revision.</summary>
    public ProviderRouter Router { get; }

    /// <summary>The revision id: a digest of the effective configuration (and of the gateway keys it knows).</summary>
    public string Revision { get; }

    /// <summary>When the revision was loaded.</summary>
    public DateTimeOffset LoadedAt { get; }

    /// <summary>The warnings found when the revision was loaded (a revision never has errors).</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    internal RuntimeIdentityResolver Identity { get; }

    /// <summary>The limiter of <c>distributed_rate_limit</c>, when the revision has one.</summary>
    internal IRequestRateLimiter? RateLimiter { get; }

    /// <summary>Memory recall of this revision, when the configuration has a <c>memory</c> section.</summary>
    internal Memory.MemoryRecall? Memory { get; }

    internal int GatewayKeyCount { get; }

    /// <summary>The engine's (target, model) check, made into a delegate once rather than per request.</summary>
    internal Func<string, string, bool> AllowsTarget { get; }

    /// <summary>Cancelled when a replaced revision's requests ran past the drain timeout.</summary>
    internal CancellationToken Draining => _draining.Token;

    /// <summary>Completes once the revision is released: its engine and router are disposed.</summary>
    internal Task Closed => _closed.Task;

    /// <summary>Whether a reload replaced the revision.</summary>
    internal bool IsRetired => Volatile.Read(ref _retired) != 0;

    private int _retired;

    /// <summary>Takes a lease for one request; fails once the revision has been released.</summary>
    internal bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Ends a lease; the last one releases the revision.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _ = CloseAsync();
        }
    }

    /// <summary>
    /// Marks the revision replaced: drops the runtime's own reference, and cancels requests still running after
    /// <paramref name="drainTimeout"/> so the revision is released in bounded time.
    /// </summary>
    internal void Retire(TimeSpan drainTimeout, TimeProvider time)
    {
        if (Interlocked.Exchange(ref _retired, 1) != 0)
        {
            return;
        }

        if (drainTimeout != Timeout.InfiniteTimeSpan)
        {
            _drainTimer = time.CreateTimer(static state => ((GatewaySnapshot)state!).CancelDraining(), this, drainTimeout, Timeout.InfiniteTimeSpan);
        }

        Release();
    }

    /// <summary>Cancels the requests still running on a replaced revision now (the gateway is shutting down).</summary>
    internal void CancelDraining()
    {
        try
        {
            _draining.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Released meanwhile: nothing left to cancel.
        }
    }

    private async Task CloseAsync()
    {
        try
        {
            _drainTimer?.Dispose();
            await _release(this).ConfigureAwait(false);
        }
        finally
        {
            _closed.TrySetResult();
        }
    }
}

/// <summary>A request's hold on a revision; dispose it when the request (and its stream) is over.</summary>
internal readonly struct SnapshotLease(GatewaySnapshot snapshot) : IDisposable
{
    public GatewaySnapshot Snapshot { get; } = snapshot;

    public void Dispose() => Snapshot.Release();
}
