using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>
/// The gateway side of the relay: keeps one outbound WebSocket to the control plane open, registers on it, and
/// serves the requests dispatched through it by forwarding each to the local gateway. Reconnects after any drop or
/// failure with exponential backoff (1 s doubling to 30 s, up to 20% jitter, back to 1 s after a connection that stayed
/// registered for 60 s); every wait runs on the <see cref="TimeProvider"/>. See docs/relay.md for the protocol.
/// </summary>
internal sealed class RelayClient : IAsyncDisposable
{
    private readonly RelayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RelayMetrics _metrics;
    private readonly RelayForwarder _forwarder;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private RelayConnection? _current;
    private Task _loop = Task.CompletedTask;
    private int _stopped;

    public RelayClient(RelayOptions options, Uri localGateway, TimeProvider time, RelayMetrics metrics, RelayStatus status, ILogger logger)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Status = status;
        _forwarder = new RelayForwarder(localGateway, options, time, metrics, logger);
    }

    public RelayStatus Status { get; }

    /// <summary>Starts the connection loop in the background.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>
    /// Graceful stop (SIGTERM): no new relayed requests (503), the ones in flight finish until
    /// <paramref name="deadline"/> (then they are cancelled), then the socket is closed with 1001 and the loop ends.
    /// </summary>
    public async Task StopAsync(CancellationToken deadline)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        RelayConnection? connection;
        lock (_gate)
        {
            connection = _current;
        }

        if (connection is not null)
        {
            RelayLog.Draining(_logger, connection.InFlight);
            await connection.DrainAsync(deadline).ConfigureAwait(false);
            try
            {
                using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await connection.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "gateway shutting down", closeTimeout.Token).ConfigureAwait(false);
                RelayLog.Closed(_logger);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        // The peer answers the close and the read loop ends; a peer that does not is cut off.
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false) != _loop)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        _forwarder.Dispose();
        _stopping.Dispose();
        _abort.Dispose();
    }

    private async Task RunAsync()
    {
        var failures = 0;
        while (!_stopping.IsCancellationRequested)
        {
            RelayConnectionEnd end;
            TimeSpan? registeredFor;
            try
            {
                (end, registeredFor) = await ConnectAndServeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The loop must outlive any one connection's failure, whatever it is.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (end, registeredFor) = (new RelayConnectionEnd("unexpected " + ex.GetType().Name, false), null);
            }

            if (_stopping.IsCancellationRequested)
            {
                break;
            }

            if (registeredFor >= _options.StableAfter)
            {
                failures = 0;
            }

            var delay = RelayBackoff.Delay(failures, _options.InitialBackoff, _options.MaxBackoff, _options.Jitter, _options.NextRandom());
            failures = Math.Min(failures + 1, 30);
            var previous = Status.Set(end.AuthFailed ? RelayState.AuthFailed : RelayState.Connecting);

            // The timer exists before the wait is visible in the status, so a clock moved by whoever reads the
            // status always finds it.
            var wait = Task.Delay(delay, _time, _stopping.Token);
            Status.Waiting(delay);
            _metrics.Reconnect(end.AuthFailed ? "auth_failed" : registeredFor is null ? "connect_failed" : "dropped");
            if (end.AuthFailed)
            {
                if (previous != RelayState.AuthFailed)
                {
                    RelayLog.AuthFailed(_logger, end.Reason, delay.TotalSeconds);
                }
            }
            else if (registeredFor is null)
            {
                RelayLog.ConnectFailed(_logger, end.Reason, Math.Round(delay.TotalSeconds, 1));
            }

            try
            {
                await wait.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            Status.Retrying();
        }
    }

    /// <summary>One connection from upgrade to end. Never throws.</summary>
    private async Task<(RelayConnectionEnd End, TimeSpan? RegisteredFor)> ConnectAndServeAsync()
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + _options.Token);
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = _options.KeepAliveInterval * 3;
        RelayLog.Connecting(_logger, RelayUrl.Display(_options.Url));

        using var connection = new RelayConnection(socket, _options, _forwarder, Status, _metrics, _logger);
        var (sessionId, failed) = await ConnectAndRegisterAsync(socket, connection).ConfigureAwait(false);
        if (failed is { } end)
        {
            return (end, null);
        }

        var registeredAt = _time.GetTimestamp();
        Status.Registered(sessionId, _time.GetUtcNow());
        RelayLog.Registered(_logger, _options.RegistrationId, sessionId ?? "-");
        lock (_gate)
        {
            _current = connection;
        }

        if (_stopping.IsCancellationRequested)
        {
            // A stop that came while registering found no connection to drain: there is nothing in flight, so close.
            connection.StopAccepting();
            try
            {
                using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await connection.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "gateway shutting down", closeTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        var ended = await connection.ServeAsync(_abort.Token).ConfigureAwait(false);
        lock (_gate)
        {
            _current = null;
        }

        var inFlight = connection.InFlight;
        await connection.AbandonAsync().ConfigureAwait(false);
        socket.Abort();
        var registeredFor = _time.GetElapsedTime(registeredAt);
        if (!_stopping.IsCancellationRequested)
        {
            // The state itself moves in the reconnect loop, which logs an authentication failure on the change.
            RelayLog.Dropped(_logger, ended.Reason, Math.Round(registeredFor.TotalSeconds, 1), inFlight);
        }

        return (ended, registeredFor);
    }

    /// <summary>The upgrade and the wait for <c>registered</c>, together bounded by the registration timeout. Never throws.</summary>
    private async Task<(string? SessionId, RelayConnectionEnd? Failed)> ConnectAndRegisterAsync(ClientWebSocket socket, RelayConnection connection)
    {
        // Disposed as soon as registration is over, so its timer never outlives it.
        using var registration = new CancellationTokenSource(_options.RegistrationTimeout, _time);
        using var registering = CancellationTokenSource.CreateLinkedTokenSource(registration.Token, _stopping.Token);
        try
        {
            await socket.ConnectAsync(_options.Url, registering.Token).ConfigureAwait(false);
        }
        catch (WebSocketException) when (socket.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return (null, new RelayConnectionEnd($"the upgrade was answered {(int)socket.HttpStatusCode}", AuthFailed: true));
        }
        catch (OperationCanceledException) when (registration.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            RelayLog.RegistrationTimeout(_logger, _options.RegistrationTimeout.TotalSeconds);
            return (null, new RelayConnectionEnd("the upgrade did not complete in time", false));
        }
        catch (OperationCanceledException)
        {
            return (null, new RelayConnectionEnd("stopped", false));
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
        {
            var status = socket.HttpStatusCode;
            return (null, new RelayConnectionEnd(status == 0 ? Reason(ex) : $"the upgrade was answered {(int)status}", false));
        }

        try
        {
            await connection.SendAsync(w => RelayFrames.WriteRegister(w, _options), registering.Token).ConfigureAwait(false);
            return await AwaitRegisteredAsync(connection, registering.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (registration.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            RelayLog.RegistrationTimeout(_logger, _options.RegistrationTimeout.TotalSeconds);
            socket.Abort();
            return (null, new RelayConnectionEnd("no registered frame in time", false));
        }
        catch (OperationCanceledException)
        {
            socket.Abort();
            return (null, new RelayConnectionEnd("stopped", false));
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            return (null, new RelayConnectionEnd(Reason(ex), false));
        }
    }

    /// <summary>Reads frames until <c>registered</c>; a close (4401 = refused token) ends the attempt.</summary>
    private async Task<(string? SessionId, RelayConnectionEnd? Refused)> AwaitRegisteredAsync(RelayConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (message, end) = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (end is { } closed)
            {
                return (null, closed);
            }

            if (message is not { } bytes)
            {
                continue;
            }

            var frame = RelayFrames.TryRead(bytes, out _, out var problem);
            if (frame is null)
            {
                RelayLog.MalformedFrame(_logger, problem ?? "unreadable");
                continue;
            }

            if (frame.Kind == RelayFrameKind.Registered)
            {
                return (frame.SessionId, null);
            }

            RelayLog.UnknownFrame(_logger, frame.Type + " (before registered)");
        }
    }

    private static string Reason(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    System.Net.Sockets.SocketError.ConnectionRefused => "connection refused",
                    System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData or System.Net.Sockets.SocketError.TryAgain => "host not found",
                    var code => code.ToString(),
                };
            }
        }

        return ex.GetType().Name;
    }
}
