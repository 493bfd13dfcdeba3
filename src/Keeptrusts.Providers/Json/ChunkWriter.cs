using System.Buffers;
using System.Text.Json;

namespace Keeptrusts.Providers.Json;

/// <summary>
/// Writes <c>chat.completion.chunk</c> payloads that share one id, creation time and model. One writer per stream:
/// it reuses its buffer between chunks and is not thread-safe.
/// </summary>
internal sealed class ChunkWriter(string id, long created, string model)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private Utf8JsonWriter? _writer;

    public string Id { get; } = id;

    public long Created { get; } = created;

    public string Model { get; } = model;

    public byte[] Role(int choice = 0) => Write(choice, 0, static (w, _) =>
    {
        w.WriteString("role", "assistant");
        w.WriteString("content", string.Empty);
    }, finishReason: null);

    public byte[] Content(string text, int choice = 0) => Write(choice, text, static (w, t) => w.WriteString("content", t), finishReason: null);

    public byte[] Refusal(string text, int choice = 0) => Write(choice, text, static (w, t) => w.WriteString("refusal", t), finishReason: null);

    /// <summary>The first delta of a tool call: its index, id, type and name, with the arguments known so far.</summary>
    public byte[] ToolCallStart(int toolIndex, string toolId, string name, string arguments, int choice = 0)
        => Write(choice, (toolIndex, toolId, name, arguments), static (w, s) =>
        {
            w.WriteStartArray("tool_calls");
            w.WriteStartObject();
            w.WriteNumber("index", s.toolIndex);
            w.WriteString("id", s.toolId);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", s.name);
            w.WriteString("arguments", s.arguments);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        }, finishReason: null);

    /// <summary>A later delta of a tool call: more of its arguments.</summary>
    public byte[] ToolCallArguments(int toolIndex, string arguments, int choice = 0)
        => Write(choice, (toolIndex, arguments), static (w, s) =>
        {
            w.WriteStartArray("tool_calls");
            w.WriteStartObject();
            w.WriteNumber("index", s.toolIndex);
            w.WriteStartObject("function");
            w.WriteString("arguments", s.arguments);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        }, finishReason: null);

    public byte[] Finish(string finishReason, int choice = 0) => Write(choice, 0, static (_, _) => { }, finishReason);

    /// <summary>The usage chunk sent last when the request asked for <c>stream_options.include_usage</c>.</summary>
    public byte[] Usage<TState>(TState state, Action<Utf8JsonWriter, TState> writeUsage)
    {
        var w = Start();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        w.WritePropertyName("usage");
        writeUsage(w, state);
        w.WriteEndObject();
        return Finish(w);
    }

    public byte[] Usage(long promptTokens, long completionTokens) => Usage((promptTokens, completionTokens), static (w, u) => UsageJson.Write(w, u.promptTokens, u.completionTokens));

    private byte[] Write<TState>(int choice, TState state, Action<Utf8JsonWriter, TState> writeDelta, string? finishReason)
    {
        var w = Start();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", choice);
        w.WriteStartObject("delta");
        writeDelta(w, state);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finishReason is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finishReason);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        return Finish(w);
    }

    private Utf8JsonWriter Start()
    {
        _buffer.ResetWrittenCount();
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(_buffer, OpenAIErrorJson.WriterOptions);
        }
        else
        {
            _writer.Reset(_buffer);
        }

        return _writer;
    }

    private byte[] Finish(Utf8JsonWriter w)
    {
        w.Flush();
        return _buffer.WrittenSpan.ToArray();
    }

    private void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", Created);
        w.WriteString("model", Model);
    }
}

/// <summary>Writes the OpenAI <c>usage</c> object.</summary>
internal static class UsageJson
{
    public static void Write(Utf8JsonWriter w, long promptTokens, long completionTokens, long? cachedTokens = null)
    {
        w.WriteStartObject();
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completionTokens);
        w.WriteNumber("total_tokens", promptTokens + completionTokens);
        if (cachedTokens is { } cached)
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", cached);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}

/// <summary>Creates response ids in OpenAI's style.</summary>
internal static class ResponseIds
{
    public static string NewCompletionId() => "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
}
