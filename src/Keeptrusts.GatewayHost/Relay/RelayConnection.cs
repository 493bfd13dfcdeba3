using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>How one connection ended.</summary>
internal readonly record struct RelayConnectionEnd(string Reason, bool AuthFailed);

/// <summary>
/// One registered WebSocket: reads frames one at a time, runs each request on its own task (many in flight at once,
/// at most <see cref="RelayOptions.MaxInFlight"/>), and serialises every frame it sends. When the connection ends, the
/// requests still in flight are cancelled: their answers have nowhere to go.
/// </summary>
internal sealed class RelayConnection : IRelayFrameSink, IDisposable
{
    /// <summary>The close code the control plane uses to say the token was refused.</summary>
    public const int AuthFailedCloseCode = 4401;

    /// <summary>How much of an oversize frame is kept to find its request id.</summary>
    private const int OversizePrefixBytes = 4096;

    private readonly WebSocket _socket;
    private readonly RelayOptions _options;
    private readonly RelayForwarder _forwarder;
    private readonly RelayStatus _status;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _frame = new(1024);
    private ArrayBufferWriter<byte> _receive = new(16 * 1024);
    private readonly ConcurrentDictionary<string, Request> _requests = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _ended = new();
    private int _inFlight;
    private volatile bool _accepting = true;

    public RelayConnection(WebSocket socket, RelayOptions options, RelayForwarder forwarder, RelayStatus status, RelayMetrics metrics, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _forwarder = forwarder;
        _status = status;
        _metrics = metrics;
        _logger = logger;
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Reads frames until the socket closes or fails, or <paramref name="stop"/> fires.</summary>
    public async Task<RelayConnectionEnd> ServeAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var (message, end) = await ReceiveAsync(stop).ConfigureAwait(false);
                if (end is { } closed)
                {
                    return closed;
                }

                if (message is { } frame)
                {
                    Dispatch(frame);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return new RelayConnectionEnd("stopped", false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
            // A keep-alive timeout aborts the socket; the pending read then fails with one of these.
            return new RelayConnectionEnd(Describe(ex), false);
        }
        finally
        {
            await _ended.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads one message whole; the message is valid until the next call. Returns the message, or how the connection ended; oversize, binary and malformed frames are handled here and come back as neither.</summary>
    public async Task<(ReadOnlyMemory<byte>? Message, RelayConnectionEnd? End)> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (_receive.Capacity > 1024 * 1024)
        {
            _receive = new ArrayBufferWriter<byte>(16 * 1024);
        }

        var buffer = _receive;
        buffer.ResetWrittenCount();
        long total = 0;
        var oversize = false;
        byte[]? prefix = null;
        ValueWebSocketReceiveResult result;
        do
        {
            var memory = buffer.GetMemory(16 * 1024);
            result = await _socket.ReceiveAsync(memory, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                var code = (int?)_socket.CloseStatus;
                var reason = $"closed by the control plane ({code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no code"})";
                return (null, new RelayConnectionEnd(reason, code == AuthFailedCloseCode));
            }

            total += result.Count;
            if (oversize)
            {
                continue;
            }

            buffer.Advance(result.Count);
            if (total > _options.MaxFrameBytes)
            {
                oversize = true;
                prefix = buffer.WrittenSpan[..Math.Min(OversizePrefixBytes, buffer.WrittenCount)].ToArray();
                _receive = buffer = new ArrayBufferWriter<byte>(16 * 1024);
            }
        }
        while (!result.EndOfMessage);

        if (oversize)
        {
            _metrics.RejectedFrame("too_large");
            var id = RelayFrames.TryReadId(prefix);
            RelayLog.OversizeFrame(_logger, _options.MaxFrameBytes, id is null ? string.Empty : $"; request {id} answered 413");
            if (id is not null && !_requests.ContainsKey(id))
            {
                await RelayForwarder.SendLocalErrorAsync(this, id, 413, $"The request is larger than the relay accepts ({_options.MaxFrameBytes} bytes per frame).", "invalid_request_error", "request_too_large").ConfigureAwait(false);
            }

            return (null, null);
        }

        if (result.MessageType != WebSocketMessageType.Text)
        {
            _metrics.RejectedFrame("binary");
            RelayLog.MalformedFrame(_logger, "a binary frame (the relay speaks JSON text frames)");
            return (null, null);
        }

        return (buffer.WrittenMemory, null);
    }

    /// <summary>Stops taking requests: new ones are answered 503 from now on.</summary>
    public void StopAccepting() => _accepting = false;

    /// <summary>Waits for the requests in flight; when <paramref name="deadline"/> fires first, cancels them.</summary>
    public async Task DrainAsync(CancellationToken deadline)
    {
        StopAccepting();
        try
        {
            // A request is in the table a moment before its task is, so look again until the table is empty.
            while (!_requests.IsEmpty)
            {
                await Task.WhenAll(_requests.Values.Select(static r => r.Task)).WaitAsync(deadline).ConfigureAwait(false);
                if (!_requests.IsEmpty)
                {
                    await Task.Delay(10, deadline).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            foreach (var request in _requests.Values)
            {
                request.TryCancel();
            }

            await Task.WhenAll(_requests.Values.Select(static r => r.Task)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sends a close frame with <paramref name="status"/>; the peer's answering close ends <see cref="ServeAsync"/>.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string description, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(status, description, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Cancels what is still in flight (the connection is gone) and waits briefly for those tasks.</summary>
    public async Task AbandonAsync()
    {
        foreach (var request in _requests.Values)
        {
            request.TryCancel();
        }

        await Task.WhenAll(_requests.Values.Select(static r => r.Task)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _ended.Dispose();
        _sendLock.Dispose();
    }

    public ValueTask SendStartAsync(string id, int status, IEnumerable<KeyValuePair<string, string>> headers, CancellationToken cancellationToken) =>
        SendAsync(w => RelayFrames.WriteResponseStart(w, id, status, headers), cancellationToken);

    public ValueTask SendChunkAsync(string id, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        SendAsync(w => RelayFrames.WriteResponseChunk(w, id, data.Span), cancellationToken);

    public ValueTask SendEndAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(w => RelayFrames.WriteResponseEnd(w, id), cancellationToken);

    public ValueTask SendErrorAsync(string id, string message, CancellationToken cancellationToken) =>
        SendAsync(w => RelayFrames.WriteResponseError(w, id, message), cancellationToken);

    /// <summary>Sends one text frame. WebSocket sends must not overlap, so frames from every request take turns.</summary>
    public async ValueTask SendAsync(Action<IBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _ended.Token);
        await _sendLock.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            _frame.ResetWrittenCount();
            write(_frame);
            await _socket.SendAsync(_frame.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, linked.Token).ConfigureAwait(false);
        }
        finally
        {
            if (_frame.Capacity > 1024 * 1024)
            {
                // One big frame must not pin a big buffer for the life of the connection.
                _frame.Clear();
            }

            _sendLock.Release();
        }
    }

    private void Dispatch(ReadOnlyMemory<byte> message)
    {
        var frame = RelayFrames.TryRead(message, out var id, out var problem);
        if (frame is null)
        {
            _metrics.RejectedFrame("malformed");
            RelayLog.MalformedFrame(_logger, problem ?? "unreadable");
            if (id is not null && problem is not null && !_requests.ContainsKey(id) && problem.StartsWith("request", StringComparison.Ordinal))
            {
                _ = AnswerAsync(id, 400, "The relayed request is malformed: " + problem + ".", "invalid_request_error", "invalid_relay_frame");
            }

            return;
        }

        switch (frame.Kind)
        {
            case RelayFrameKind.Request:
                Start(frame);
                break;
            case RelayFrameKind.Cancel:
                if (_requests.TryGetValue(frame.Id!, out var request))
                {
                    request.TryCancel();
                }

                break;
            case RelayFrameKind.Registered:
                break;
            default:
                RelayLog.UnknownFrame(_logger, frame.Type);
                break;
        }
    }

    private void Start(RelayInboundFrame frame)
    {
        var id = frame.Id!;
        if (!_accepting)
        {
            _metrics.Request("rejected");
            _ = AnswerAsync(id, 503, "The gateway is shutting down.", "server_error", "gateway_shutting_down");
            return;
        }

        if (Interlocked.Increment(ref _inFlight) > _options.MaxInFlight)
        {
            var busy = Interlocked.Decrement(ref _inFlight);
            _metrics.Request("rejected");
            RelayLog.Busy(_logger, id, busy);
            _ = AnswerAsync(id, 503, "The gateway has too many relayed requests in flight; retry shortly.", "server_error", "relay_busy");
            return;
        }

        var entry = new Request(CancellationTokenSource.CreateLinkedTokenSource(_ended.Token));
        if (!_requests.TryAdd(id, entry))
        {
            Interlocked.Decrement(ref _inFlight);
            entry.Cancel.Dispose();
            RelayLog.DuplicateId(_logger, id);
            return;
        }

        _status.RequestStarted();
        entry.Task = Task.Run(async () =>
        {
            try
            {
                await _forwarder.ForwardAsync(frame, this, entry.Cancel.Token).ConfigureAwait(false);
            }
            finally
            {
                _requests.TryRemove(id, out _);
                Interlocked.Decrement(ref _inFlight);
                _status.RequestEnded();
                entry.Cancel.Dispose();
            }
        });
    }

    private async Task AnswerAsync(string id, int status, string message, string type, string code)
    {
        try
        {
            await RelayForwarder.SendLocalErrorAsync(this, id, status, message, type, code).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        OperationCanceledException or TimeoutException => "no answer to keep-alive pings",
        WebSocketException ws => ws.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely ? "connection closed without a close frame" : "connection failed: " + ws.WebSocketErrorCode,
        _ => "connection failed: " + ex.GetType().Name,
    };

    private sealed class Request(CancellationTokenSource cancel)
    {
        public CancellationTokenSource Cancel { get; } = cancel;

        public Task Task { get; set; } = Task.CompletedTask;

        public void TryCancel()
        {
            try
            {
                Cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It finished meanwhile.
            }
        }
    }
}
