using System.Runtime.CompilerServices;
using System.Text.Json;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Http;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.OpenAICompatible;

/// <summary>
/// An OpenAI-compatible upstream (<c>openai</c>, <c>vercel</c>, any server speaking chat completions). The request
/// goes out byte for byte except its <c>model</c>; answers come back byte for byte.
/// </summary>
internal sealed class OpenAIProviderClient(HttpTargetSettings settings) : HttpProviderClient(settings)
{
    public const string DefaultBaseUrl = "https://api.openai.com";

    protected override string ChatPath => "/v1/chat/completions";

    protected override byte[] TranslateRequest(ProviderRequest request) => ModelRewriter.Rewrite(request.Body.Span, request.Model);

    protected override byte[] TranslateError(int statusCode, ReadOnlyMemory<byte> body)
        => OpenAIErrorJson.IsErrorEnvelope(body.Span) ? body.ToArray() : WrapError(statusCode, body.Span);

    protected override ReadOnlyMemory<byte> TranslateCompletion(ReadOnlyMemory<byte> body, ProviderRequest request)
    {
        OpenAIChunks.Inspect(body.Span);
        return body;
    }

    protected override IAsyncEnumerable<ReadOnlyMemory<byte>> TranslateStream(SseReader events, ProviderRequest request, CancellationToken cancellationToken)
        => OpenAIChunks.ReadAsync(events, completeWithoutDone: false, cancellationToken);
}

/// <summary>Reads OpenAI chunk streams (from an HTTP upstream or a local runner) and checks each payload.</summary>
internal static class OpenAIChunks
{
    /// <summary>
    /// Yields each <c>data:</c> payload up to <c>[DONE]</c>. A payload that is not a JSON object is invalid; one with a
    /// top-level <c>error</c> is the upstream failing mid-stream. A stream that ends before <c>[DONE]</c> was cut off,
    /// unless <paramref name="completeWithoutDone"/> (a process that exited cleanly has said all it will).
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(SseReader events, bool completeWithoutDone, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await events.ReadAsync(cancellationToken).ConfigureAwait(false) is { } evt)
        {
            if (evt.IsDone)
            {
                yield break;
            }

            if (evt.Data.IsEmpty)
            {
                continue;
            }

            var info = Inspect(evt.Data.Span);
            if (info.Error is { } error)
            {
                throw new UpstreamStreamErrorException(error.Status, evt.Data.ToArray(), $"the upstream sent an error event: {error.Message}");
            }

            yield return evt.Data;
        }

        if (!completeWithoutDone)
        {
            throw new IOException("the stream ended before [DONE]");
        }
    }

    /// <summary>Checks that <paramref name="payload"/> is one JSON object and reads a top-level <c>error</c> if it has one.</summary>
    /// <exception cref="JsonException">Not well-formed JSON.</exception>
    /// <exception cref="InvalidUpstreamResponseException">Well-formed, but not an object.</exception>
    public static PayloadInfo Inspect(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read())
        {
            throw new InvalidUpstreamResponseException("the body is empty");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidUpstreamResponseException("the body is not a JSON object");
        }

        (int Status, string Message)? error = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    error = ReadError(ref reader);
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    error = (500, reader.GetString() ?? string.Empty);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        return new PayloadInfo(error);
    }

    private static (int, string) ReadError(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        string message = string.Empty, kind = string.Empty;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }

            var name = reader.GetString();
            reader.Read();
            if (reader.TokenType == JsonTokenType.String && name is "message")
            {
                message = reader.GetString() ?? string.Empty;
            }
            else if (reader.TokenType == JsonTokenType.String && name is "type" or "code")
            {
                kind += reader.GetString() + " ";
            }
            else
            {
                reader.Skip();
            }
        }

        var status = kind.Contains("rate_limit", StringComparison.OrdinalIgnoreCase) ? 429
            : kind.Contains("overloaded", StringComparison.OrdinalIgnoreCase) ? 503
            : 500;
        return (status, message);
    }

    internal readonly record struct PayloadInfo((int Status, string Message)? Error);
}
