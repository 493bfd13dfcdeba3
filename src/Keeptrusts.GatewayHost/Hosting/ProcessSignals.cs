using System.Runtime.InteropServices;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>
/// The signals a running gateway answers: SIGHUP reloads the configuration; the first SIGTERM, SIGINT (Ctrl+C) or
/// SIGQUIT starts a graceful shutdown; a second one cuts the drain short. Registered only by the <c>kt</c> process,
/// never by a gateway hosted inside tests.
/// </summary>
internal sealed class ProcessSignals : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly CancellationTokenSource _abort = new();

    public ProcessSignals(Action onReload)
    {
        if (!OperatingSystem.IsWindows())
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                onReload();
            }));
        }

        foreach (var signal in OperatingSystem.IsWindows() ? [PosixSignal.SIGTERM, PosixSignal.SIGINT] : new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                if (_shutdown.IsCancellationRequested)
                {
                    _abort.Cancel();
                }
                else
                {
                    _shutdown.Cancel();
                }
            }));
        }
    }

    /// <summary>Cancelled by the first termination signal.</summary>
    public CancellationToken Shutdown => _shutdown.Token;

    /// <summary>Cancelled by the second termination signal.</summary>
    public CancellationToken Abort => _abort.Token;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _shutdown.Dispose();
        _abort.Dispose();
    }
}
