using System.Buffers;
using System.Text;

namespace Keeptrusts.HttpHandler.Streaming;

/// <summary>
/// A growable byte queue from the shared pool: rewriters write events at its end, the stream's reads take bytes from
/// its front. Only what is ready to send sits here, never the whole response.
/// </summary>
internal sealed class SseWriter : IDisposable
{
    private byte[] _buffer;
    private int _start;
    private int _end;

    public SseWriter(int capacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    public int Count => _end - _start;

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>Writes <c>data: payload</c> and the blank line that ends the event.</summary>
    public void WriteData(ReadOnlySpan<byte> payload)
    {
        WriteRaw("data: "u8);
        WriteRaw(payload);
        WriteRaw("\n\n"u8);
    }

    /// <summary>Writes <c>event: type</c>, <c>data: payload</c> and the blank line that ends the event.</summary>
    public void WriteEvent(string type, ReadOnlySpan<byte> payload)
    {
        WriteRaw("event: "u8);
        Span<byte> name = stackalloc byte[Encoding.UTF8.GetMaxByteCount(type.Length)];
        WriteRaw(name[..Encoding.UTF8.GetBytes(type, name)]);
        WriteRaw("\n"u8);
        WriteData(payload);
    }

    public int Read(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, Count);
        _buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }

        return count;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Reserve(int size)
    {
        if (_end + size <= _buffer.Length)
        {
            return;
        }

        // Compact first; grow only when the unread bytes plus the new ones do not fit.
        var count = Count;
        if (count + size <= _buffer.Length)
        {
            _buffer.AsSpan(_start, count).CopyTo(_buffer);
        }
        else
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, count + size));
            _buffer.AsSpan(_start, count).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        _start = 0;
        _end = count;
    }
}
