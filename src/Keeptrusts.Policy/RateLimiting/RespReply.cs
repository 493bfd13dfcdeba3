using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>The kinds of RESP2/RESP3 reply the limiter understands.</summary>
internal enum RespKind
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Null,
    Array,
}

/// <summary>One parsed reply. Only the shapes the limiter's commands produce are needed, so the model is small.</summary>
internal sealed record RespReply(RespKind Kind, long Integer = 0, string? Text = null, IReadOnlyList<RespReply>? Items = null)
{
    public static readonly RespReply NullReply = new(RespKind.Null);

    public bool IsError => Kind == RespKind.Error;

    public override string ToString() => Kind switch
    {
        RespKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        RespKind.Array => "[" + string.Join(", ", Items!) + "]",
        RespKind.Null => "(nil)",
        _ => Text ?? string.Empty,
    };
}

/// <summary>A reply that breaks the protocol: the connection can no longer be trusted and is dropped.</summary>
internal sealed class RespProtocolException(string message) : IOException(message);

/// <summary>
/// Encodes commands as RESP arrays of bulk strings and parses replies from a stream, with bounds on every length so a
/// misbehaving server cannot make the gateway allocate without limit.
/// </summary>
internal sealed class RespCodec
{
    private const int MaxBulkLength = 1 << 20;
    private const int MaxArrayLength = 1024;
    private const int MaxDepth = 8;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    public RespCodec(Stream stream) => _stream = stream;

    public static byte[] Encode(params ReadOnlySpan<string> args)
    {
        var writer = new ArrayBufferWriter<byte>(64);
        Append(writer, '*', args.Length);
        foreach (var arg in args)
        {
            var length = Encoding.UTF8.GetByteCount(arg);
            Append(writer, '$', length);
            var span = writer.GetSpan(length + 2);
            Encoding.UTF8.GetBytes(arg, span);
            span[length] = (byte)'\r';
            span[length + 1] = (byte)'\n';
            writer.Advance(length + 2);
        }

        return writer.WrittenSpan.ToArray();
    }

    public async ValueTask<RespReply> ReadAsync(CancellationToken cancellationToken) => await ReadAsync(0, cancellationToken).ConfigureAwait(false);

    private async ValueTask<RespReply> ReadAsync(int depth, CancellationToken cancellationToken)
    {
        if (depth > MaxDepth)
        {
            throw new RespProtocolException("reply nested too deeply");
        }

        var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (line.Length == 0)
        {
            throw new RespProtocolException("empty reply line");
        }

        var body = line.AsSpan(1);
        switch ((char)line[0])
        {
            case '+':
                return new RespReply(RespKind.SimpleString, Text: Encoding.UTF8.GetString(body));
            case '-':
                return new RespReply(RespKind.Error, Text: Encoding.UTF8.GetString(body));
            case ':':
                return new RespReply(RespKind.Integer, Integer: ParseInteger(body));
            case '_':
                return RespReply.NullReply;
            case '$':
                {
                    var length = ParseInteger(body);
                    if (length < 0)
                    {
                        return RespReply.NullReply;
                    }

                    if (length > MaxBulkLength)
                    {
                        throw new RespProtocolException("bulk reply too long");
                    }

                    var bytes = await ReadExactAsync((int)length + 2, cancellationToken).ConfigureAwait(false);
                    return new RespReply(RespKind.BulkString, Text: Encoding.UTF8.GetString(bytes, 0, (int)length));
                }

            case '*':
                {
                    var count = ParseInteger(body);
                    if (count < 0)
                    {
                        return RespReply.NullReply;
                    }

                    if (count > MaxArrayLength)
                    {
                        throw new RespProtocolException("array reply too long");
                    }

                    var items = new RespReply[count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        items[i] = await ReadAsync(depth + 1, cancellationToken).ConfigureAwait(false);
                    }

                    return new RespReply(RespKind.Array, Items: items);
                }

            default:
                throw new RespProtocolException($"unexpected reply type '{(char)line[0]}'");
        }
    }

    private static long ParseInteger(ReadOnlySpan<byte> text) =>
        Utf8Parser.TryParse(text, out long value, out var consumed) && consumed == text.Length
            ? value
            : throw new RespProtocolException("malformed integer in reply");

    private async ValueTask<byte[]> ReadLineAsync(CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var newline = available[searched..].IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                var line = available[..(searched + newline)].ToArray();
                _start += searched + newline + 2;
                return line;
            }

            searched = Math.Max(0, available.Length - 1);
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }

            var take = Math.Min(count - copied, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(result.AsSpan(copied));
            _start += take;
            copied += take;
        }

        if (result[count - 2] != '\r' || result[count - 1] != '\n')
        {
            throw new RespProtocolException("bulk reply not terminated by CRLF");
        }

        return result;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new RespProtocolException("reply line too long");
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new EndOfStreamException("Valkey closed the connection");
        }

        _end += read;
    }

    private static void Append(ArrayBufferWriter<byte> writer, char prefix, int number)
    {
        var span = writer.GetSpan(16);
        span[0] = (byte)prefix;
        Utf8Formatter.TryFormat(number, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        writer.Advance(written + 3);
    }
}
