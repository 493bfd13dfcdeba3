using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Keeptrusts.ControlPlaneEmulator.Relay;

/// <summary>How the emulator answers a relay upgrade (a switch for fault tests).</summary>
public enum RelayAuthMode
{
    /// <summary>Accept any bearer token (or only <see cref="RelayHub.ExpectedToken"/> when it is set).</summary>
    Accept,

    /// <summary>Answer the upgrade with 401.</summary>
    Refuse,

    /// <summary>Accept the upgrade, then close with 4401 (token revoked).</summary>
    CloseWith4401,
}

/// <summary>One frame a gateway sent about a request.</summary>
public sealed record RelayAnswerFrame(string Type, int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Data, string? Message);

/// <summary>
/// The emulator's side of the relay: the gateways connected on <c>/v1/gateway/relay</c> by registration id, the
/// requests dispatched to them and their answers, and the switches fault tests use (refuse auth, never register, drop).
/// Thread-safe.
/// </summary>
public sealed class RelayHub
{
    private const int MaxInboundFrameBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<string, RelayGatewayConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RelayConnectionRecord> _history = new();
    private long _nextRequest;
    private long _nextSession;

    /// <summary>When set, only this bearer token is accepted; otherwise any non-empty one is.</summary>
    public string? ExpectedToken { get; set; }

    /// <summary>When set (and <see cref="ExpectedToken"/> is not), decides which bearer tokens are accepted.</summary>
    public Func<string, bool>? Authorize { get; set; }

    /// <summary>How upgrades are answered.</summary>
    public RelayAuthMode AuthMode { get; set; } = RelayAuthMode.Accept;

    /// <summary>When false, <c>register</c> frames are never acknowledged (registration timeout tests).</summary>
    public bool AcknowledgeRegistrations { get; set; } = true;

    /// <summary>Every connection seen, oldest first: who registered, when, and how it ended.</summary>
    public IReadOnlyList<RelayConnectionRecord> History => [.. _history];

    /// <summary>The connected gateway with this registration id, if any.</summary>
    public RelayGatewayConnection? Find(string registrationId) => _connections.TryGetValue(registrationId, out var c) ? c : null;

    /// <summary>Aborts every relay socket without a close frame, as a network failure would. Returns how many there were.</summary>
    public int DropAll()
    {
        var n = 0;
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
            n++;
        }

        return n;
    }

    /// <summary>Closes every registered relay socket with 4401, as a revoked token would. Returns how many there were.</summary>
    public async Task<int> RevokeAllAsync(CancellationToken cancellationToken)
    {
        var n = 0;
        foreach (var connection in _connections.Values)
        {
            await connection.CloseAsync((WebSocketCloseStatus)4401, "token revoked", cancellationToken);
            n++;
        }

        return n;
    }

    /// <summary>Serves one accepted WebSocket until it ends.</summary>
    public async Task ServeAsync(WebSocket socket, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(time);
        var record = new RelayConnectionRecord { OpenedAt = time.GetUtcNow() };
        _history.Enqueue(record);
        if (AuthMode == RelayAuthMode.CloseWith4401)
        {
            await socket.CloseAsync((WebSocketCloseStatus)4401, "token refused", cancellationToken);
            record.CloseStatus = 4401;
            return;
        }

        RelayGatewayConnection? connection = null;
        try
        {
            while (true)
            {
                var (message, closed) = await ReceiveAsync(socket, cancellationToken);
                if (closed)
                {
                    record.CloseStatus = (int?)socket.CloseStatus;
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                    }

                    return;
                }

                if (message is null)
                {
                    continue;
                }

                using var document = Parse(message);
                if (document is null)
                {
                    continue;
                }

                var root = document.RootElement;
                var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (type == "register" && connection is null)
                {
                    record.RegistrationId = Text(root, "runtime_registration_id");
                    record.InstanceId = Text(root, "instance_id");
                    record.GatewayVersion = Text(root, "gateway_version");
                    if (!AcknowledgeRegistrations || record.RegistrationId is null)
                    {
                        continue;
                    }

                    var session = "sess_" + Interlocked.Increment(ref _nextSession).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    connection = new RelayGatewayConnection(socket, record.RegistrationId, session);
                    record.SessionId = session;
                    record.RegisteredAt = time.GetUtcNow();
                    await connection.SendAsync(w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("type", "registered");
                        w.WriteString("session_id", session);
                        w.WriteEndObject();
                    }, cancellationToken);
                    _connections[record.RegistrationId] = connection;
                    continue;
                }

                connection?.Deliver(root);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            record.CloseStatus ??= -1;
        }
        finally
        {
            record.ClosedAt = time.GetUtcNow();
            if (connection is not null)
            {
                _connections.TryRemove(new KeyValuePair<string, RelayGatewayConnection>(connection.RegistrationId, connection));
                connection.Fail();
            }
        }
    }

    /// <summary>A new request id, unique in this emulator.</summary>
    public string NextRequestId() => "r" + Interlocked.Increment(ref _nextRequest).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static JsonDocument? Parse(byte[] message)
    {
        try
        {
            var document = JsonDocument.Parse(message);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static async Task<(byte[]? Message, bool Closed)> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (null, true);
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > MaxInboundFrameBytes)
            {
                await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, "frame too large", cancellationToken);
                return (null, true);
            }
        }
        while (!result.EndOfMessage);
        return result.MessageType == WebSocketMessageType.Text ? (buffer.WrittenSpan.ToArray(), false) : (null, false);
    }
}

/// <summary>What the emulator saw of one relay connection.</summary>
public sealed class RelayConnectionRecord
{
    public DateTimeOffset OpenedAt { get; init; }

    public string? RegistrationId { get; set; }

    public string? InstanceId { get; set; }

    public string? GatewayVersion { get; set; }

    public string? SessionId { get; set; }

    public DateTimeOffset? RegisteredAt { get; set; }

    public DateTimeOffset? ClosedAt { get; set; }

    /// <summary>The close code the gateway sent (1001 when it shut down), -1 when the socket broke without one.</summary>
    public int? CloseStatus { get; set; }
}

/// <summary>One registered gateway: sends frames to it and routes its answers to the request waiting for them.</summary>
public sealed class RelayGatewayConnection
{
    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<string, Channel<RelayAnswerFrame>> _pending = new(StringComparer.Ordinal);

    internal RelayGatewayConnection(WebSocket socket, string registrationId, string sessionId)
    {
        _socket = socket;
        RegistrationId = registrationId;
        SessionId = sessionId;
    }

    public string RegistrationId { get; }

    public string SessionId { get; }

    /// <summary>Dispatches a request; the answer's frames arrive on the returned reader, which completes after the last one (or with an error if the gateway goes away).</summary>
    public async Task<ChannelReader<RelayAnswerFrame>> SendRequestAsync(string id, string method, string path, IEnumerable<KeyValuePair<string, string>> headers, byte[] body, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<RelayAnswerFrame>(new UnboundedChannelOptions { SingleReader = true });
        _pending[id] = channel;
        await SendAsync(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "request");
            w.WriteString("id", id);
            w.WriteString("method", method);
            w.WriteString("path", path);
            w.WriteStartObject("headers");
            foreach (var (name, value) in headers)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
            w.WriteBase64String("body", body);
            w.WriteEndObject();
        }, cancellationToken);
        return channel.Reader;
    }

    /// <summary>Tells the gateway to abort a request.</summary>
    public Task CancelAsync(string id, CancellationToken cancellationToken) => SendAsync(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", "cancel");
        w.WriteString("id", id);
        w.WriteEndObject();
    }, cancellationToken);

    /// <summary>Sends a text frame exactly as given (malformed and oversize frame tests).</summary>
    public async Task SendRawAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Stops waiting for a request's answer.</summary>
    public void Forget(string id) => _pending.TryRemove(id, out _);

    internal async Task SendAsync(Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(output))
        {
            write(writer);
        }

        await SendRawAsync(output.WrittenSpan.ToArray(), cancellationToken);
    }

    internal void Deliver(JsonElement root)
    {
        if (!root.TryGetProperty("id", out var idElement) || idElement.GetString() is not { } id || !_pending.TryGetValue(id, out var channel))
        {
            return;
        }

        var type = root.TryGetProperty("type", out var t) ? t.GetString() ?? string.Empty : string.Empty;
        var headers = new List<KeyValuePair<string, string>>();
        if (root.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in h.EnumerateObject())
            {
                headers.Add(new(header.Name, header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : header.Value.GetRawText()));
            }
        }

        var frame = new RelayAnswerFrame(
            type,
            root.TryGetProperty("status", out var s) && s.TryGetInt32(out var status) ? status : 0,
            headers,
            root.TryGetProperty("data", out var d) && d.TryGetBytesFromBase64(out var data) ? data : [],
            root.TryGetProperty("message", out var m) ? m.GetString() : null);
        channel.Writer.TryWrite(frame);
        if (type is "response_end" or "response_error")
        {
            channel.Writer.TryComplete();
            _pending.TryRemove(id, out _);
        }
    }

    internal async Task CloseAsync(WebSocketCloseStatus status, string description, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.CloseOutputAsync(status, description, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    internal void Abort() => _socket.Abort();

    internal void Fail()
    {
        foreach (var (id, channel) in _pending)
        {
            channel.Writer.TryComplete(new IOException("the gateway disconnected"));
            _pending.TryRemove(id, out _);
        }
    }
}
