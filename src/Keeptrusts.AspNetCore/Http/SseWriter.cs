using System.Buffers;
using System.IO.Pipelines;

namespace Keeptrusts.AspNetCore.Http;

/// <summary>Server-sent events framing of OpenAI streams: <c>data: {json}\n\n</c>, ending with <c>data: [DONE]\n\n</c>.</summary>
internal static class SseWriter
{
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;

    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;

    public static void WriteData(PipeWriter writer, ReadOnlySpan<byte> payload)
    {
        // A payload is JSON, whose line breaks are insignificant; an upstream that pretty-printed it still gets one
        // event, because each line goes out as its own data field and SSE joins them again.
        var rest = payload;
        while (true)
        {
            var lineBreak = rest.IndexOfAny((byte)'\n', (byte)'\r');
            writer.Write(DataPrefix);
            if (lineBreak < 0)
            {
                writer.Write(rest);
                break;
            }

            writer.Write(rest[..lineBreak]);
            writer.Write("\n"u8);
            rest = rest[(lineBreak + 1)..];
        }

        writer.Write(EventEnd);
    }

    public static void WriteDone(PipeWriter writer) => writer.Write("data: [DONE]\n\n"u8);

    /// <summary>An error event: the OpenAI error JSON as a data event, named <c>error</c> for clients that look at event names.</summary>
    public static void WriteError(PipeWriter writer, ReadOnlySpan<byte> errorJson)
    {
        writer.Write("event: error\n"u8);
        WriteData(writer, errorJson);
    }
}
