using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Keeptrusts.AspNetCore.Http;

/// <summary>A request body read into a pooled buffer; dispose it when the request is over.</summary>
internal sealed class RequestBody : IDisposable
{
    private byte[]? _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Why a body was refused: the status and OpenAI error to answer with.</summary>
    internal readonly record struct Refusal(int Status, string Message, string Code);

    /// <summary>
    /// Reads a JSON request body: the content type must be JSON (any <c>charset</c> must be UTF-8), the body at most
    /// <paramref name="maxBytes"/> (413 otherwise, checked before reading when <c>Content-Length</c> says so), not
    /// empty, and valid UTF-8. JSON itself is checked by the engine.
    /// </summary>
    public static async ValueTask<(RequestBody? Body, Refusal Refusal)> ReadJsonAsync(HttpContext http, long maxBytes, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (!IsJson(request.ContentType))
        {
            return (null, new Refusal(StatusCodes.Status415UnsupportedMediaType, "the request body must be JSON: send it with 'Content-Type: application/json'", "unsupported_media_type"));
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && (limit.MaxRequestBodySize is null || limit.MaxRequestBodySize > maxBytes))
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        var reader = request.BodyReader;
        byte[]? buffer = null;
        var length = 0;
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return (null, TooLarge(maxBytes));
                }
                catch (BadHttpRequestException)
                {
                    return (null, new Refusal(StatusCodes.Status400BadRequest, "the request body could not be read: its framing is invalid", "invalid_body"));
                }

                var data = read.Buffer;
                if (length + data.Length > maxBytes)
                {
                    reader.AdvanceTo(data.End);
                    return (null, TooLarge(maxBytes));
                }

                if (data.Length > 0)
                {
                    buffer = Grow(buffer, length, checked(length + (int)data.Length));
                    data.CopyTo(buffer.AsSpan(length));
                    length += (int)data.Length;
                }

                reader.AdvanceTo(data.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }

            if (length == 0)
            {
                return (null, new Refusal(StatusCodes.Status400BadRequest, "the request body is empty: send a chat completion request as JSON", "empty_body"));
            }

            if (!System.Text.Unicode.Utf8.IsValid(buffer.AsSpan(0, length)))
            {
                return (null, new Refusal(StatusCodes.Status400BadRequest, "the request body is not valid UTF-8", "invalid_encoding"));
            }

            var body = new RequestBody(buffer!, length);
            buffer = null;
            return (body, default);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static Refusal TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the {maxBytes} bytes this gateway accepts", "request_too_large");

    private static byte[] Grow(byte[]? buffer, int used, int needed)
    {
        if (buffer is not null && buffer.Length >= needed)
        {
            return buffer;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, buffer is null ? 4096 : buffer.Length * 2));
        if (buffer is not null)
        {
            buffer.AsSpan(0, used).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return larger;
    }

    internal static bool IsJson(string? contentType)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return false;
        }

        var type = media.MediaType.AsSpan();
        var json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        var charset = media.Charset.AsSpan();
        return json && (charset.IsEmpty || charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Trim('"').Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }
}
