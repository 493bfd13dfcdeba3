using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>Where a forwarded request's answer goes: one connection's frame sender.</summary>
internal interface IRelayFrameSink
{
    ValueTask SendStartAsync(string id, int status, IEnumerable<KeyValuePair<string, string>> headers, CancellationToken cancellationToken);

    ValueTask SendChunkAsync(string id, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    ValueTask SendEndAsync(string id, CancellationToken cancellationToken);

    ValueTask SendErrorAsync(string id, string message, CancellationToken cancellationToken);
}

/// <summary>
/// Turns one <c>request</c> frame into a real HTTP request to the local gateway (so identity, rate limits and every
/// policy apply as for a direct caller) and its answer into frames: <c>response_start</c>, a <c>response_chunk</c>
/// per read of at most 64 KiB (an SSE event is sent as soon as the gateway flushes it), then <c>response_end</c>.
/// Failures before the start are answered 502 (504 when the request timeout expired); after it, <c>response_error</c>.
/// </summary>
internal sealed class RelayForwarder : IDisposable
{
    // RFC 9110 §7.6.1 hop-by-hop fields, plus Host (the local request has its own) and the framing headers that
    // HttpClient sets from the body it sends.
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Expect",
    };

    private readonly HttpClient _http;
    private readonly Uri _local;
    private readonly RelayOptions _options;
    private readonly TimeProvider _time;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;

    public RelayForwarder(Uri local, RelayOptions options, TimeProvider time, RelayMetrics metrics, ILogger logger)
    {
        _local = local;
        _options = options;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The local gateway's base address (<c>http://127.0.0.1:port</c>).</summary>
    public Uri Local => _local;

    /// <summary>Forwards one request and sends every frame of its answer. Never throws; <paramref name="cancelled"/> is the control plane's cancel.</summary>
    public async Task ForwardAsync(RelayInboundFrame frame, IRelayFrameSink sink, CancellationToken cancelled)
    {
        var id = frame.Id!;
        var started = false;
        var outcome = "ok";
        try
        {
            using var request = BuildRequest(frame);
            _metrics.BytesIn(frame.Body.Length);
            HttpResponseMessage response;
            using (var timeout = new CancellationTokenSource(_options.RequestTimeout, _time))
            using (var untilStart = CancellationTokenSource.CreateLinkedTokenSource(cancelled, timeout.Token))
            {
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, untilStart.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancelled.IsCancellationRequested)
                {
                    outcome = "cancelled";
                    await sink.SendErrorAsync(id, "cancelled", CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    outcome = "error";
                    RelayLog.ForwardFailed(_logger, id, $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s");
                    await SendLocalErrorAsync(sink, id, 504, $"The gateway did not start answering within {_options.RequestTimeout.TotalSeconds:0.#} s.", "timeout", "gateway_timeout").ConfigureAwait(false);
                    return;
                }
                catch (HttpRequestException ex)
                {
                    outcome = "error";
                    RelayLog.ForwardFailed(_logger, id, ex.HttpRequestError.ToString());
                    await SendLocalErrorAsync(sink, id, 502, "The relay could not reach the local gateway.", "upstream_error", "bad_gateway").ConfigureAwait(false);
                    return;
                }
            }

            using (response)
            {
                await sink.SendStartAsync(id, (int)response.StatusCode, ResponseHeaders(response), cancelled).ConfigureAwait(false);
                started = true;
                var body = await response.Content.ReadAsStreamAsync(cancelled).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(RelayOptions.ChunkBytes);
                    try
                    {
                        int read;
                        while ((read = await body.ReadAsync(buffer.AsMemory(0, RelayOptions.ChunkBytes), cancelled).ConfigureAwait(false)) > 0)
                        {
                            await sink.SendChunkAsync(id, buffer.AsMemory(0, read), cancelled).ConfigureAwait(false);
                            _metrics.BytesOut(read);
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }

                await sink.SendEndAsync(id, cancelled).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested)
        {
            outcome = "cancelled";
            await TrySendErrorAsync(sink, id, "cancelled").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
            outcome = "error";
            if (started)
            {
                RelayLog.StreamFailed(_logger, id, ex.GetType().Name);
                await TrySendErrorAsync(sink, id, "the local answer broke off").ConfigureAwait(false);
            }
            else
            {
                RelayLog.ForwardFailed(_logger, id, ex.GetType().Name);
            }
        }
#pragma warning disable CA1031 // Whatever else goes wrong with one request must not touch the others; the caller still gets an answer.
        catch (Exception ex) when (!started && ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            outcome = "error";
            RelayLog.ForwardFailed(_logger, id, ex.GetType().Name);
            try
            {
                await SendLocalErrorAsync(sink, id, 502, "The relay could not forward the request.", "upstream_error", "bad_gateway").ConfigureAwait(false);
            }
            catch (Exception sendFailure) when (sendFailure is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or OperationCanceledException)
            {
            }
        }
        finally
        {
            _metrics.Request(outcome);
        }
    }

    /// <summary>An answer the relay makes itself: a <c>response_start</c> with an OpenAI error body, then the end.</summary>
    public static async ValueTask SendLocalErrorAsync(IRelayFrameSink sink, string id, int status, string message, string type, string code)
    {
        var body = RelayFrames.ErrorBody(message, type, code);
        await sink.SendStartAsync(id, status, [new("Content-Type", "application/json"), new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))], CancellationToken.None).ConfigureAwait(false);
        await sink.SendChunkAsync(id, body, CancellationToken.None).ConfigureAwait(false);
        await sink.SendEndAsync(id, CancellationToken.None).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private static async ValueTask TrySendErrorAsync(IRelayFrameSink sink, string id, string message)
    {
        try
        {
            await sink.SendErrorAsync(id, message, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or OperationCanceledException)
        {
            // The connection is gone; the control plane learns from the drop.
        }
    }

    private HttpRequestMessage BuildRequest(RelayInboundFrame frame)
    {
        var request = new HttpRequestMessage(new HttpMethod(frame.Method), new Uri(_local, frame.Path));
        HashSet<string>? named = null;
        foreach (var (name, value) in frame.Headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                named ??= new(StringComparer.OrdinalIgnoreCase);
                foreach (var token in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    named.Add(token);
                }
            }
        }

        var hasContentHeader = frame.Headers.Any(static h => h.Key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) && !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase));
        if (frame.Body.Length > 0 || hasContentHeader)
        {
            request.Content = new ByteArrayContent(frame.Body);
        }

        foreach (var (name, value) in frame.Headers)
        {
            if (HopByHop.Contains(name) || (named?.Contains(name) ?? false))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    private static IEnumerable<KeyValuePair<string, string>> ResponseHeaders(HttpResponseMessage response)
    {
        var headers = new List<KeyValuePair<string, string>>();
        Add(response.Headers);
        Add(response.Content.Headers);
        return headers;

        void Add(HttpHeaders source)
        {
            foreach (var (name, values) in source.NonValidated)
            {
                if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || (HopByHop.Contains(name) && !name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                headers.Add(new(name, string.Join(", ", values)));
            }
        }
    }
}
