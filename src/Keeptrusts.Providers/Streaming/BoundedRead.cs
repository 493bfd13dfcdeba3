using System.Buffers;

namespace Keeptrusts.Providers.Streaming;

/// <summary>Reads a whole body, refusing to hold more than a cap.</summary>
internal static class BoundedRead
{
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } length && length > maxBytes)
        {
            throw new BodyTooLargeException(maxBytes);
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await ReadAsync(stream, maxBytes, (int)Math.Min(content.Headers.ContentLength ?? 16 * 1024, maxBytes), cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task<ReadOnlyMemory<byte>> ReadAsync(Stream stream, int maxBytes, int sizeHint, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, sizeHint + 1));
        while (true)
        {
            var memory = buffer.GetMemory(Math.Min(64 * 1024, Math.Max(4096, buffer.WrittenCount)));
            var read = await stream.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                throw new BodyTooLargeException(maxBytes);
            }
        }
    }
}

/// <summary>A body was larger than the configured cap.</summary>
internal sealed class BodyTooLargeException(int limit) : Exception($"the body is larger than {limit} bytes")
{
    public int Limit { get; } = limit;
}
