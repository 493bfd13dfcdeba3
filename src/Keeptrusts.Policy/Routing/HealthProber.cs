using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Active health checks: every <c>interval_ms</c> each target is probed with <see cref="IProviderClient.ProbeAsync"/>
/// (never a completion), bounded by <c>timeout_ms</c>. A probe still running when the next is due is not doubled.
/// Runs on a <see cref="TimeProvider"/> timer and stops on dispose.
/// </summary>
internal sealed class HealthProber : IAsyncDisposable
{
    private readonly TargetRuntime[] _targets;
    private readonly HealthCheckConfig _config;
    private readonly TimeProvider _time;
    private readonly Action<TargetRuntime> _onHealthChanged;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task?[] _probes;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private bool _stopped;

    public HealthProber(TargetRuntime[] targets, HealthCheckConfig config, TimeProvider time, Action<TargetRuntime> onHealthChanged)
    {
        _targets = targets;
        _config = config;
        _time = time;
        _onHealthChanged = onHealthChanged;
        _probes = new Task?[targets.Length];
        var interval = TimeSpan.FromMilliseconds(config.IntervalMs);
        _timer = time.CreateTimer(static s => ((HealthProber)s!).Tick(), this, interval, interval);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            running = [.. _probes.Where(static p => p is not null).Cast<Task>()];
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void Tick()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            for (var i = 0; i < _targets.Length; i++)
            {
                if (_probes[i] is null or { IsCompleted: true })
                {
                    _probes[i] = ProbeAsync(_targets[i]);
                }
            }
        }
    }

    private async Task ProbeAsync(TargetRuntime target)
    {
        // Started under the prober's lock; the probe only ever takes the target's own lock, so this cannot deadlock.
        bool healthy;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(_config.TimeoutMs), _time))
        using (_stopping.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout))
        {
            try
            {
                healthy = await target.Client.ProbeAsync(_config.Path, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A probe that throws or times out is a failed probe, whatever the exception.
            catch (Exception)
#pragma warning restore CA1031
            {
                healthy = false;
            }
        }

        if (target.RecordHealth(healthy, probe: true))
        {
            _onHealthChanged(target);
        }
    }
}
