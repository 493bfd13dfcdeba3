using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keeptrusts.HttpHandler.Tests.TestSupport;

/// <summary>
/// The inner handler of the tests: a provider double whose answer is a callback. It records every request it gets,
/// with its body, so tests can check what actually left the process.
/// </summary>
internal sealed class FakeProvider(Func<HttpRequestMessage, string, HttpResponseMessage> respond) : HttpMessageHandler
{
    private readonly List<(HttpRequestMessage Request, string Body)> _received = [];

    public IReadOnlyList<(HttpRequestMessage Request, string Body)> Received => _received;

    public string LastBody => _received[^1].Body;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        _received.Add((request, body));
        return respond(request, body);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? string.Empty : new StreamReader(request.Content.ReadAsStream(cancellationToken)).ReadToEnd();
        _received.Add((request, body));
        return respond(request, body);
    }

    /// <summary>Answers an OpenAI chat request with the last user message, streamed (in <paramref name="chunkSizes"/>) when asked.</summary>
    public static FakeProvider OpenAIEcho(Func<string, string>? answer = null, int[]? chunkSizes = null) => new((request, body) =>
    {
        var json = JsonNode.Parse(body)!;
        var text = (answer ?? (static s => s))(LastUserText(json));
        return json["stream"]?.GetValue<bool>() == true
            ? Sse(OpenAIStream(text, chunkSizes ?? [7]), chunkSizes: null)
            : Json(OpenAICompletion(text));
    });

    /// <summary>Answers an Anthropic request with the last user message, streamed when asked.</summary>
    public static FakeProvider AnthropicEcho(Func<string, string>? answer = null, int[]? chunkSizes = null) => new((request, body) =>
    {
        var json = JsonNode.Parse(body)!;
        var text = (answer ?? (static s => s))(LastUserText(json));
        return json["stream"]?.GetValue<bool>() == true
            ? Sse(AnthropicStream(text, chunkSizes ?? [7]), chunkSizes: null)
            : Json(AnthropicMessage(text));
    });

    public static string LastUserText(JsonNode request)
    {
        var last = request["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!;
        return last is JsonValue ? last.GetValue<string>() : string.Concat(last.AsArray().Select(p => p!["text"]?.GetValue<string>() ?? string.Empty));
    }

    public static string OpenAICompletion(string text) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-1",
        @object = "chat.completion",
        created = 1_700_000_000,
        model = "gpt-test",
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 5, completion_tokens = 7, total_tokens = 12 },
    });

    /// <summary>An OpenAI chunk stream of <paramref name="text"/> cut into deltas of the given sizes (cycled), then usage and [DONE].</summary>
    public static string OpenAIStream(string text, int[] deltaSizes, bool withUsage = true)
    {
        var sb = new StringBuilder();
        foreach (var delta in Cut(text, deltaSizes))
        {
            sb.Append("data: ").Append(Chunk(new { role = "assistant", content = delta }, null)).Append("\n\n");
        }

        sb.Append("data: ").Append(Chunk(new { }, "stop")).Append("\n\n");
        if (withUsage)
        {
            sb.Append("data: ").Append(JsonSerializer.Serialize(new { id = "chatcmpl-1", @object = "chat.completion.chunk", created = 1_700_000_000, model = "gpt-test", choices = Array.Empty<object>(), usage = new { prompt_tokens = 5, completion_tokens = 7, total_tokens = 12 } })).Append("\n\n");
        }

        sb.Append("data: [DONE]\n\n");
        return sb.ToString();

        static string Chunk(object delta, string? finish) => JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1",
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model = "gpt-test",
            choices = new[] { new { index = 0, delta, finish_reason = finish } },
        });
    }

    public static string AnthropicMessage(string text) => JsonSerializer.Serialize(new
    {
        id = "msg_1",
        type = "message",
        role = "assistant",
        model = "claude-test",
        content = new[] { new { type = "text", text } },
        stop_reason = "end_turn",
        stop_sequence = (string?)null,
        usage = new { input_tokens = 5, output_tokens = 7 },
    });

    public static string AnthropicStream(string text, int[] deltaSizes)
    {
        var sb = new StringBuilder();
        Event("message_start", new { type = "message_start", message = new { id = "msg_1", type = "message", role = "assistant", model = "claude-test", content = Array.Empty<object>(), usage = new { input_tokens = 5, output_tokens = 1 } } });
        Event("content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
        Event("ping", new { type = "ping" });
        foreach (var delta in Cut(text, deltaSizes))
        {
            Event("content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = delta } });
        }

        Event("content_block_stop", new { type = "content_block_stop", index = 0 });
        Event("message_delta", new { type = "message_delta", delta = new { stop_reason = "end_turn", stop_sequence = (string?)null }, usage = new { output_tokens = 7 } });
        Event("message_stop", new { type = "message_stop" });
        return sb.ToString();

        void Event(string type, object data) => sb.Append("event: ").Append(type).Append('\n').Append("data: ").Append(JsonSerializer.Serialize(data)).Append("\n\n");
    }

    public static IEnumerable<string> Cut(string text, int[] sizes)
    {
        var i = 0;
        var k = 0;
        while (i < text.Length)
        {
            var size = Math.Max(1, sizes[k++ % sizes.Length]);
            var end = Math.Min(text.Length, i + size);
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            yield return text[i..end];
            i = end;
        }
    }

    public static HttpResponseMessage Json(string body, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>An event-stream response whose content stream returns the bytes in reads of the given sizes (cycled).</summary>
    public static HttpResponseMessage Sse(string body, int[]? chunkSizes)
    {
        var content = new StreamContent(new ChunkedStream(Encoding.UTF8.GetBytes(body), chunkSizes ?? [int.MaxValue]));
        content.Headers.ContentType = new("text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }
}

/// <summary>A read-only stream that hands out its bytes in reads of fixed sizes, as a network would in packets.</summary>
internal sealed class ChunkedStream(byte[] data, int[] sizes) : Stream
{
    private int _position;
    private int _read;

    public bool Disposed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var size = Math.Max(1, sizes[_read++ % sizes.Length]);
        var n = Math.Min(Math.Min(size, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}
