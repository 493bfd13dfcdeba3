using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Keeptrusts.Providers.Streaming;

/// <summary>One server-sent event: its <c>event</c> field (null when absent) and its data lines joined with <c>\n</c>.</summary>
internal readonly record struct SseEvent(string? EventType, ReadOnlyMemory<byte> Data)
{
    public bool IsDone => Data.Span.SequenceEqual("[DONE]"u8);
}

/// <summary>
/// Reads server-sent events (<c>data:</c> lines, multi-line data, <c>event:</c>, comments, CR/LF/CRLF line ends)
/// from a byte stream. A line or an event larger than the cap fails with <see cref="SseTooLargeException"/>,
/// so a misbehaving upstream cannot make the reader buffer without bound.
/// </summary>
internal sealed class SseReader
{
    private readonly PipeReader _reader;
    private readonly int _maxEventBytes;
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private string? _eventType;
    private bool _hasData;
    private bool _completed;

    public SseReader(PipeReader reader, int maxEventBytes)
    {
        _reader = reader;
        _maxEventBytes = maxEventBytes;
    }

    /// <summary>Reads the next event; null at the end of the stream. Data pending at the end is dispatched as an event.</summary>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        while (!_completed)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            SseEvent? dispatched = null;
            while (dispatched is null && TryReadLine(ref buffer, result.IsCompleted, out var line))
            {
                dispatched = ProcessLine(line);
            }

            if (dispatched is null && buffer.Length > _maxEventBytes)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                throw new SseTooLargeException(_maxEventBytes);
            }

            if (dispatched is null && result.IsCompleted)
            {
                _completed = true;
                _reader.AdvanceTo(buffer.End);
                return _hasData ? Dispatch() : null;
            }

            if (dispatched is not null)
            {
                // Lines after the event stay unexamined so the next read returns them without waiting.
                _reader.AdvanceTo(buffer.Start);
                return dispatched;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return null;
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, bool isCompleted, out ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadToAny(out line, "\r\n"u8, advancePastDelimiter: false))
        {
            reader.TryRead(out var delimiter);
            if (delimiter == (byte)'\r')
            {
                if (reader.End && !isCompleted)
                {
                    // A CR at the end of what has arrived may be the first half of CRLF.
                    line = default;
                    return false;
                }

                if (reader.TryPeek(out var next) && next == (byte)'\n')
                {
                    reader.Advance(1);
                }
            }

            buffer = buffer.Slice(reader.Position);
            return true;
        }

        if (isCompleted && !buffer.IsEmpty)
        {
            line = buffer;
            buffer = buffer.Slice(buffer.End);
            return true;
        }

        line = default;
        return false;
    }

    private SseEvent? ProcessLine(ReadOnlySequence<byte> sequence)
    {
        if (sequence.IsEmpty)
        {
            return _hasData ? Dispatch() : ResetEmpty();
        }

        var line = sequence.IsSingleSegment ? sequence.FirstSpan : sequence.ToArray();
        if (line[0] == (byte)':')
        {
            return null;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            if (_data.WrittenCount + value.Length > _maxEventBytes)
            {
                throw new SseTooLargeException(_maxEventBytes);
            }

            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventType = Encoding.UTF8.GetString(value);
        }

        return null;
    }

    private SseEvent Dispatch()
    {
        var evt = new SseEvent(_eventType, _data.WrittenSpan.ToArray());
        _data.ResetWrittenCount();
        _eventType = null;
        _hasData = false;
        return evt;
    }

    private SseEvent? ResetEmpty()
    {
        _eventType = null;
        return null;
    }
}

/// <summary>A server-sent event or line exceeded the configured cap.</summary>
internal sealed class SseTooLargeException(int limit) : Exception($"a streamed event exceeded {limit} bytes")
{
    public int Limit { get; } = limit;
}
