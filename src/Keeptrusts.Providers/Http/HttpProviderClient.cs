using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Credentials;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Logging;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Http;

/// <summary>
/// What every HTTP adapter shares: credentials, the per-attempt timeout, transport failures classified as
/// <see cref="ProviderException"/>, upstream errors returned with their status and <c>Retry-After</c>, bounded bodies,
/// SSE streams. A format (OpenAI, Anthropic) supplies the path and the translations.
/// </summary>
internal abstract class HttpProviderClient : IProviderClient
{
    /// <summary>The most of an upstream error body that is read; errors are small, and a larger one is summarised.</summary>
    private const int MaxErrorBodyBytes = 1024 * 1024;

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    protected HttpProviderClient(HttpTargetSettings settings) => Settings = settings;

    protected HttpTargetSettings Settings { get; }

    /// <summary>The completion path under the base URL, starting with <c>/v1/</c>.</summary>
    protected abstract string ChatPath { get; }

    /// <summary>The upstream request body. Throws <see cref="InvalidRequestException"/> for a request the format cannot express.</summary>
    protected abstract byte[] TranslateRequest(ProviderRequest request);

    /// <summary>The OpenAI error JSON for an upstream error (the body has already had the credential scrubbed).</summary>
    protected abstract byte[] TranslateError(int statusCode, ReadOnlyMemory<byte> body);

    /// <summary>The <c>chat.completion</c> for a 2xx body. Throws <see cref="JsonException"/> or <see cref="InvalidUpstreamResponseException"/> when the body is not a valid answer.</summary>
    protected abstract ReadOnlyMemory<byte> TranslateCompletion(ReadOnlyMemory<byte> body, ProviderRequest request);

    /// <summary>The chunk payloads for an upstream event stream.</summary>
    protected abstract IAsyncEnumerable<ReadOnlyMemory<byte>> TranslateStream(SseReader events, ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>Adds the format's own headers (such as a version header).</summary>
    protected virtual void AddFormatHeaders(HttpRequestHeaders headers)
    {
    }

    public async ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        byte[] body;
        try
        {
            body = TranslateRequest(request);
        }
        catch (InvalidRequestException ex)
        {
            return new ProviderResponse(400, OpenAIErrorJson.Create(ex.Message, "invalid_request_error", "invalid_request_body", ex.Param));
        }
        catch (JsonException)
        {
            return OpenAIErrorJson.Response(400, "the request body is not a valid JSON object", "invalid_request_error", "invalid_request_body");
        }

        string? credential;
        try
        {
            credential = await Settings.Credential.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CredentialUnavailableException ex)
        {
            ProviderLog.CredentialUnavailable(Settings.Logger, ex.TargetId, ex.StoreName, ex.InnerException);
            return OpenAIErrorJson.Response(500, ex.Message, "server_error", "upstream_credential_unavailable");
        }

        var uri = Settings.ResolveChat(ChatPath, request.Model);
        using var message = new HttpRequestMessage(HttpMethod.Post, uri);
        message.Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } };
        AddHeaders(message, credential, request.Stream ? "text/event-stream" : "application/json");

        var timer = AttemptTimeout.Start(request.Timeout, Settings.Time);
        var handedOver = false;
        HttpResponseMessage? response = null;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            try
            {
                response = await Settings.Clients.Get(uri).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                throw MapTransport(ex, uri, request.Timeout, timer, cancellationToken, "sending the request");
            }

            var status = (int)response.StatusCode;
            var retryAfter = RetryAfter.From(response.Headers, Settings.Time);
            if (status is < 200 or >= 300)
            {
                return await ReadErrorAsync(response, status, retryAfter, credential, linked.Token, cancellationToken).ConfigureAwait(false);
            }

            if (request.Stream && IsEventStream(response))
            {
                var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
                var events = new SseReader(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: false)), Settings.MaxResponseBytes);
                var chunks = new ChunkStream(Settings.TargetId, request.Timeout, timer, token => TranslateStream(events, request, token), new ResponseOwner(response));
                handedOver = true;
                return await chunks.StartAsync(status, retryAfter, cancellationToken).ConfigureAwait(false);
            }

            ReadOnlyMemory<byte> raw;
            try
            {
                raw = await BoundedRead.ReadAsync(response.Content, Settings.MaxResponseBytes, linked.Token).ConfigureAwait(false);
            }
            catch (BodyTooLargeException ex)
            {
                throw new ProviderException(ProviderFailureKind.InvalidResponse, Settings.TargetId, $"target '{Settings.TargetId}' answered with {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                throw MapTransport(ex, uri, request.Timeout, timer, cancellationToken, "reading the response");
            }

            ReadOnlyMemory<byte> completion;
            try
            {
                completion = TranslateCompletion(raw, request);
            }
            catch (Exception ex) when (ex is JsonException or InvalidUpstreamResponseException)
            {
                throw new ProviderException(ProviderFailureKind.InvalidResponse, Settings.TargetId, $"target '{Settings.TargetId}' answered HTTP {status} with an invalid body: {Describe(ex)}", ex);
            }

            if (!request.Stream)
            {
                return new ProviderResponse(status, completion, retryAfter: retryAfter);
            }

            // The upstream answered in one piece although a stream was asked for: stream the answer it gave.
            var pieces = CompletionChunker.Chunk(completion, ChatRequestFlags.Read(request.Body.Span).IncludeUsage, request.Model, Settings.Time);
            return new ProviderResponse(status, ReadOnlyMemory<byte>.Empty, ChunkSequence.From(pieces), retryAfter);
        }
        finally
        {
            if (!handedOver)
            {
                response?.Dispose();
                timer.Dispose();
            }
        }
    }

    public async ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var credential = await Settings.Credential.GetAsync(cancellationToken).ConfigureAwait(false);
            var uri = Settings.Resolve(path);
            using var message = new HttpRequestMessage(HttpMethod.Get, uri);
            AddHeaders(message, credential, "application/json");
            using var response = await Settings.Clients.Get(uri).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or CredentialUnavailableException or UriFormatException)
        {
            return false;
        }
    }

    /// <summary>Wraps a body that is not OpenAI error JSON into OpenAI error JSON, quoting a short, cleaned excerpt.</summary>
    protected static byte[] WrapError(int statusCode, ReadOnlySpan<byte> body)
    {
        var excerpt = Excerpt(body, 300);
        var message = excerpt.Length == 0 ? $"the upstream answered HTTP {statusCode}" : $"the upstream answered HTTP {statusCode}: {excerpt}";
        return OpenAIErrorJson.Create(message, OpenAIErrorJson.TypeForStatus(statusCode), "upstream_error");
    }

    /// <summary>The start of a body as one line of text, control characters replaced.</summary>
    protected static string Excerpt(ReadOnlySpan<byte> body, int maxChars)
    {
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, maxChars * 4)]);
        var builder = new StringBuilder(Math.Min(text.Length, maxChars + 1));
        var lastWasSpace = false;
        foreach (var c in text)
        {
            if (builder.Length >= maxChars)
            {
                builder.Append('…');
                break;
            }

            var isSpace = char.IsWhiteSpace(c) || char.IsControl(c);
            if (isSpace && (lastWasSpace || builder.Length == 0))
            {
                continue;
            }

            builder.Append(isSpace ? ' ' : c);
            lastWasSpace = isSpace;
        }

        return builder.ToString().TrimEnd();
    }

    private static bool IsEventStream(HttpResponseMessage response)
        => response.Content.Headers.ContentType?.MediaType is { } mediaType && mediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);

    private static string Describe(Exception ex) => ex is JsonException ? "not well-formed JSON" : ex.Message;

    private void AddHeaders(HttpRequestMessage message, string? credential, string accept)
    {
        message.Headers.Accept.ParseAdd(accept);
        if (Settings.HeaderValue(credential) is { } value)
        {
            message.Headers.TryAddWithoutValidation(Settings.HeaderName, value);
        }

        AddFormatHeaders(message.Headers);
    }

    private async Task<ProviderResponse> ReadErrorAsync(HttpResponseMessage response, int status, TimeSpan? retryAfter, string? credential, CancellationToken readToken, CancellationToken callerToken)
    {
        ProviderLog.UpstreamError(Settings.Logger, Settings.TargetId, status);
        ReadOnlyMemory<byte> raw;
        try
        {
            raw = await BoundedRead.ReadAsync(response.Content, Math.Min(MaxErrorBodyBytes, Settings.MaxResponseBytes), readToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (callerToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is BodyTooLargeException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The status is what matters for fallback; a body that cannot be read is summarised.
            raw = ReadOnlyMemory<byte>.Empty;
        }

        var scrubbed = CredentialScrubber.Scrub(raw, credential);
        return new ProviderResponse(status, TranslateError(status, scrubbed), retryAfter: retryAfter);
    }

    private ProviderException MapTransport(Exception ex, Uri uri, TimeSpan timeout, CancellationTokenSource timer, CancellationToken callerToken, string phase)
    {
        var id = Settings.TargetId;
        var origin = uri.GetLeftPart(UriPartial.Authority);
        if (ex is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(ex.Message, ex, callerToken);
        }

        if (timer.IsCancellationRequested)
        {
            return new ProviderException(ProviderFailureKind.Timeout, id, $"target '{id}' ({origin}) did not answer within {AttemptTimeout.Describe(timeout)} while {phase}", ex);
        }

        var kind = ex is HttpRequestException { HttpRequestError: var error }
            ? error switch
            {
                HttpRequestError.NameResolutionError or HttpRequestError.ProxyTunnelError or HttpRequestError.SecureConnectionError => ProviderFailureKind.ConnectionRefused,
                HttpRequestError.ConnectionError => IsRefusal(ex) ? ProviderFailureKind.ConnectionRefused : ProviderFailureKind.ConnectionReset,
                HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded => ProviderFailureKind.InvalidResponse,
                _ => ProviderFailureKind.ConnectionReset,
            }
            : ProviderFailureKind.ConnectionReset;

        var what = kind switch
        {
            ProviderFailureKind.ConnectionRefused => "could not be reached",
            ProviderFailureKind.InvalidResponse => "answered with a malformed HTTP response",
            _ => "dropped the connection",
        };

        return new ProviderException(kind, id, $"target '{id}' ({origin}) {what} while {phase}", ex);
    }

    private static bool IsRefusal(Exception ex)
    {
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable
                    or SocketError.HostNotFound or SocketError.TryAgain or SocketError.AddressNotAvailable or SocketError.TimedOut;
            }
        }

        // Connection errors without a socket error happen before anything was sent.
        return true;
    }

    private sealed class ResponseOwner(HttpResponseMessage response) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            response.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
