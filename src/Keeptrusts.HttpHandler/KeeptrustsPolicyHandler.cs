using System.Net;
using System.Net.Http.Headers;
using Keeptrusts.HttpHandler.Streaming;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler;

/// <summary>
/// A <see cref="DelegatingHandler"/> that enforces a policy configuration on the chat requests an <see cref="HttpClient"/>
/// sends — OpenAI-compatible <c>…/chat/completions</c> and Anthropic <c>/v1/messages</c> — and on their answers,
/// streamed or not. Input policies run before the request leaves (a redacted body is sent instead, a blocked one never
/// is); output policies run on the answer (a streamed answer is checked as it streams, holding back only a short
/// tail). Every other request passes through untouched. A block is answered with the provider's own error shape and
/// status, or thrown as <see cref="KeeptrustsPolicyException"/> when <see cref="KeeptrustsPolicyOptions.ThrowOnBlock"/>
/// is set; a block in the middle of a stream writes the provider's error event and then faults the response stream
/// with <see cref="KeeptrustsPolicyException"/>.
/// </summary>
/// <remarks>
/// Use it through <c>services.AddHttpClient(…).AddKeeptrustsPolicy(…)</c>, or without dependency injection:
/// <c>new HttpClient(new KeeptrustsPolicyHandler(engine) { InnerHandler = new HttpClientHandler() })</c>.
/// </remarks>
public sealed class KeeptrustsPolicyHandler : DelegatingHandler
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly PolicyEngine _engine;
    private readonly bool _throwOnBlock;
    private readonly Func<HttpRequestMessage, RequestContext>? _context;
    private readonly int _maxBodyBytes;

    /// <summary>Creates the handler.</summary>
    /// <param name="engine">The engine that enforces the configuration; the caller owns it.</param>
    /// <param name="options">Behaviour options (<see cref="KeeptrustsPolicyOptions.ThrowOnBlock"/>, <see cref="KeeptrustsPolicyOptions.RequestContext"/>, <see cref="KeeptrustsPolicyOptions.MaxBodyBytes"/>); the engine sources in it are ignored.</param>
    public KeeptrustsPolicyHandler(PolicyEngine engine, KeeptrustsPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _throwOnBlock = options?.ThrowOnBlock ?? false;
        _context = options?.RequestContext;
        _maxBodyBytes = options?.MaxBodyBytes ?? new KeeptrustsPolicyOptions().MaxBodyBytes;
        if (_maxBodyBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBodyBytes must be positive.");
        }
    }

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ChatEndpoints.Recognize(request) is { } format
            ? SendCoreAsync(request, format, async: true, cancellationToken).AsTask()
            : base.SendAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ChatEndpoints.Recognize(request) is not { } format)
        {
            return base.Send(request, cancellationToken);
        }

        var pending = SendCoreAsync(request, format, async: false, cancellationToken);
        return pending.IsCompleted ? pending.GetAwaiter().GetResult() : pending.AsTask().GetAwaiter().GetResult();
    }

    private async ValueTask<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, ChatWireFormat format, bool async, CancellationToken cancellationToken)
    {
        var exchange = _engine.BeginExchange(_context?.Invoke(request));
        var owned = true;
        try
        {
            var original = request.Content!;
            var body = await ReadBodyAsync(original, async, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                return Error(request, format, 413, $"The request body is larger than {_maxBodyBytes} bytes.", "request_too_large");
            }

            var input = await exchange.EvaluateRequestAsync(body, format, cancellationToken).ConfigureAwait(false);
            if (input.IsBlocked)
            {
                return Blocked(request, format, input.Record);
            }

            var send = input.Body;
            var stream = ChatEndpoints.AsksForStream(send.Span);
            var stripUsage = false;
            if (stream && format == ChatWireFormat.OpenAIChat)
            {
                // Usage is asked for on the caller's behalf so spend limits see streamed answers too; it is taken out again.
                send = OpenAIStreamGuard.RequestUsage(send, out stripUsage);
            }

            request.Content = Replace(original, send);
            original.Dispose();

            var response = async
                ? await base.SendAsync(request, cancellationToken).ConfigureAwait(false)
                : base.Send(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                // The provider's own error passes as it came; nothing was answered, so nothing is evaluated.
                return response;
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                var upstream = async
                    ? await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false)
                    : response.Content.ReadAsStream(cancellationToken);
                ISseRewriter rewriter = format == ChatWireFormat.OpenAIChat
                    ? new OpenAISseRewriter(new OpenAIStreamGuard(exchange, stripUsage))
                    : new AnthropicSseRewriter(exchange);
                var guarded = new SseRewriteStream(upstream, rewriter, exchange.DisposeAsync);
                response.Content = Replace(response.Content, new StreamContent(guarded));
                owned = false;
                return response;
            }

            if (mediaType is null || mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase))
            {
                return await EvaluateResponseAsync(request, response, exchange, format, async, cancellationToken).ConfigureAwait(false);
            }

            // Not a chat answer this handler can read (no JSON, no event stream): it is not governed.
            return response;
        }
        finally
        {
            if (owned)
            {
                await exchange.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<HttpResponseMessage> EvaluateResponseAsync(HttpRequestMessage request, HttpResponseMessage response, PolicyExchange exchange, ChatWireFormat format, bool async, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(response.Content, async, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            response.Dispose();
            return Error(request, format, 502, $"The provider's response is larger than {_maxBodyBytes} bytes and could not be checked.", "response_too_large");
        }

        var output = await exchange.EvaluateResponseAsync(body, format, cancellationToken).ConfigureAwait(false);
        if (output.IsBlocked)
        {
            response.Dispose();
            return Blocked(request, format, output.Record);
        }

        response.Content = Replace(response.Content, output.Body);
        return response;
    }

    private HttpResponseMessage Blocked(HttpRequestMessage request, ChatWireFormat format, DecisionRecord record)
    {
        if (_throwOnBlock)
        {
            throw new KeeptrustsPolicyException(record);
        }

        var (status, body) = format == ChatWireFormat.OpenAIChat ? OpenAIErrors.ForDecision(record) : AnthropicErrors.ForDecision(record);
        return Respond(request, status, body);
    }

    private static HttpResponseMessage Error(HttpRequestMessage request, ChatWireFormat format, int status, string message, string code)
    {
        var body = format == ChatWireFormat.OpenAIChat
            ? OpenAIErrors.Create(message, OpenAIErrors.TypeFor(status), code)
            : AnthropicErrors.Create(message, AnthropicErrors.TypeFor(status));
        return Respond(request, status, body);
    }

    private static HttpResponseMessage Respond(HttpRequestMessage request, int status, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        return new HttpResponseMessage((HttpStatusCode)status) { Content = content, RequestMessage = request };
    }

    /// <summary>Reads a body, or returns null when it is larger than the limit.</summary>
    private async ValueTask<byte[]?> ReadBodyAsync(HttpContent content, bool async, CancellationToken cancellationToken)
    {
        var declared = content.Headers.ContentLength;
        if (declared > _maxBodyBytes)
        {
            return null;
        }

        var stream = async
            ? await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false)
            : content.ReadAsStream(cancellationToken);

        // With a declared length, read straight into an array of that size: one allocation, no copy.
        var buffer = new byte[declared is { } length ? (int)length : 16 * 1024];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (declared is not null)
                {
                    // The content is as long as it says.
                    break;
                }

                if (buffer.Length >= _maxBodyBytes)
                {
                    // Full at the limit: anything more is over it.
                    var probe = new byte[1];
                    var more = async ? await stream.ReadAsync(probe, cancellationToken).ConfigureAwait(false) : stream.Read(probe);
                    return more == 0 ? buffer : null;
                }

                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, _maxBodyBytes));
            }

            var read = async
                ? await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false)
                : stream.Read(buffer.AsSpan(filled));
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled == buffer.Length ? buffer : buffer.AsSpan(0, filled).ToArray();
    }

    private static ByteArrayContent Replace(HttpContent original, ReadOnlyMemory<byte> body)
    {
        var content = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
            ? new ByteArrayContent(segment.Array!, segment.Offset, segment.Count)
            : new ByteArrayContent(body.ToArray());
        CopyHeaders(original, content);
        return content;
    }

    private static StreamContent Replace(HttpContent original, StreamContent content)
    {
        CopyHeaders(original, content);
        return content;
    }

    private static void CopyHeaders(HttpContent from, HttpContent to)
    {
        foreach (var header in from.Headers)
        {
            // The new content knows its own length (or streams without one); encodings were already undone by the reader.
            if (header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            to.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }
}
