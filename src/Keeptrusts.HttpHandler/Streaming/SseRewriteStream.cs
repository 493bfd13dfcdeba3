using System.Buffers;
using System.Text;

namespace Keeptrusts.HttpHandler.Streaming;

/// <summary>
/// The response stream the caller reads: it reads the provider's server-sent events as they arrive, hands each
/// complete event to an <see cref="ISseRewriter"/> and serves what it wrote. It holds at most one partial event and
/// what the rewriter has released, never the whole response. Lines end with a line feed (a carriage return before it
/// is dropped), as the OpenAI and Anthropic streams send them. When the rewriter faults the stream (a block), the
/// caller gets every byte written before the fault and then the exception.
/// </summary>
internal sealed class SseRewriteStream : Stream
{
    /// <summary>The largest single event accepted from the provider.</summary>
    public const int MaxEventBytes = 8 * 1024 * 1024;

    private readonly Stream _upstream;
    private readonly ISseRewriter _rewriter;
    private readonly Func<ValueTask>? _onEnd;
    private readonly SseWriter _output = new();
    private byte[] _readBuffer = ArrayPool<byte>.Shared.Rent(8192);
    private byte[] _event = ArrayPool<byte>.Shared.Rent(4096);
    private int _eventLength;
    private int _lineStart;
    private byte[]? _data;
    private bool _ended;
    private bool _faultThrown;
    private bool _disposed;

    /// <param name="upstream">The provider's response stream; disposed when this stream ends or is disposed.</param>
    /// <param name="rewriter">The rewriter.</param>
    /// <param name="onEnd">Called once when the stream ends or is disposed (e.g. to close the policy exchange).</param>
    public SseRewriteStream(Stream upstream, ISseRewriter rewriter, Func<ValueTask>? onEnd = null)
    {
        _upstream = upstream;
        _rewriter = rewriter;
        _onEnd = onEnd;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_output.Count > 0 || buffer.IsEmpty)
            {
                return _output.Read(buffer);
            }

            if (_ended)
            {
                return Finished();
            }

            var read = _upstream.Read(_readBuffer);
            Sync(ConsumeAsync(read, CancellationToken.None));
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_output.Count > 0 || buffer.IsEmpty)
            {
                return _output.Read(buffer.Span);
            }

            if (_ended)
            {
                return Finished();
            }

            var read = await _upstream.ReadAsync(_readBuffer, cancellationToken).ConfigureAwait(false);
            await ConsumeAsync(read, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            Sync(EndAsync());
            _output.Dispose();
            ArrayPool<byte>.Shared.Return(_readBuffer);
            ArrayPool<byte>.Shared.Return(_event);
            _readBuffer = _event = [];
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await EndAsync().ConfigureAwait(false);
        }

        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private static void Sync(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        task.AsTask().GetAwaiter().GetResult();
    }

    private int Finished()
    {
        if (_rewriter.Fault is { } fault && !_faultThrown)
        {
            _faultThrown = true;
            throw fault;
        }

        return 0;
    }

    /// <summary>Splits what was read into events and hands each complete one to the rewriter.</summary>
    private async ValueTask ConsumeAsync(int read, CancellationToken cancellationToken)
    {
        if (read == 0)
        {
            // A last event without its blank line is incomplete and, as the SSE rules say, dropped.
            await _rewriter.CompleteAsync(_output, cancellationToken).ConfigureAwait(false);
            await EndAsync().ConfigureAwait(false);
            return;
        }

        var input = _readBuffer.AsMemory(0, read);
        while (!input.IsEmpty && !_ended)
        {
            var newline = input.Span.IndexOf((byte)'\n');
            var take = newline < 0 ? input.Length : newline + 1;
            Append(input.Span[..take]);
            input = input[take..];
            if (newline < 0)
            {
                break;
            }

            var line = _event.AsSpan(_lineStart, _eventLength - _lineStart - 1);
            if (line.IsEmpty || line is [(byte)'\r'])
            {
                var sseEvent = Parse();
                _eventLength = _lineStart = 0;
                if (!sseEvent.HasData && sseEvent.Type is null)
                {
                    _output.WriteRaw(sseEvent.Raw.Span);
                    continue;
                }

                if (await _rewriter.ProcessAsync(sseEvent, _output, cancellationToken).ConfigureAwait(false) == SseOutcome.End)
                {
                    await EndAsync().ConfigureAwait(false);
                }
            }
            else
            {
                _lineStart = _eventLength;
            }
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_eventLength + bytes.Length > _event.Length)
        {
            if (_eventLength + bytes.Length > MaxEventBytes)
            {
                throw new IOException($"An event of the provider's stream is larger than {MaxEventBytes} bytes; the stream was stopped.");
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_event.Length * 2, _eventLength + bytes.Length));
            _event.AsSpan(0, _eventLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_event);
            _event = bigger;
        }

        bytes.CopyTo(_event.AsSpan(_eventLength));
        _eventLength += bytes.Length;
    }

    private SseEvent Parse()
    {
        var raw = _event.AsMemory(0, _eventLength);
        var rest = raw.Span;
        string? type = null;
        var dataStart = -1;
        var dataLength = 0;
        var dataLines = 0;
        var position = 0;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = rest[..end];
            if (line.EndsWith("\r"u8))
            {
                line = line[..^1];
            }

            if (!line.IsEmpty && line[0] != (byte)':')
            {
                var colon = line.IndexOf((byte)':');
                var name = colon < 0 ? line : line[..colon];
                var value = colon < 0 ? [] : line[(colon + 1)..];
                if (value is [(byte)' ', ..])
                {
                    value = value[1..];
                }

                if (name.SequenceEqual("data"u8))
                {
                    if (dataLines++ == 0)
                    {
                        dataStart = position + (line.Length - value.Length);
                        dataLength = value.Length;
                    }
                    else
                    {
                        // Several data lines: join them with line feeds in a buffer of their own.
                        var joined = dataLines == 2 ? raw.Span.Slice(dataStart, dataLength).ToArray() : _data!;
                        var grown = new byte[joined.Length + 1 + value.Length];
                        joined.CopyTo(grown, 0);
                        grown[joined.Length] = (byte)'\n';
                        value.CopyTo(grown.AsSpan(joined.Length + 1));
                        _data = grown;
                    }
                }
                else if (name.SequenceEqual("event"u8))
                {
                    type = Encoding.UTF8.GetString(value);
                }
            }

            position += end + 1;
            rest = rest[(end + 1)..];
        }

        var data = dataLines switch
        {
            0 => ReadOnlyMemory<byte>.Empty,
            1 => raw.Slice(dataStart, dataLength),
            _ => _data,
        };
        return new SseEvent(raw, type, data, dataLines > 0);
    }

    private async ValueTask EndAsync()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        try
        {
            await _upstream.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (_onEnd is not null)
            {
                await _onEnd().ConfigureAwait(false);
            }
        }
    }
}
