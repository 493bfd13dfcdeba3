using System.Runtime.CompilerServices;
using System.Text.Json;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Anthropic;

/// <summary>
/// Translates Anthropic stream events into <c>chat.completion.chunk</c> payloads: a role chunk at
/// <c>message_start</c>, content and tool-call deltas (index, id, name, then argument fragments), a chunk with the
/// finish reason at <c>message_stop</c>, then a usage chunk when the request set <c>stream_options.include_usage</c>.
/// An <c>error</c> event is the upstream failing; a stream that ends before <c>message_stop</c> was cut off.
/// </summary>
internal sealed class AnthropicStreamTranslator
{
    private readonly bool _includeUsage;
    private readonly string _fallbackModel;
    private readonly TimeProvider _time;
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private ChunkWriter? _writer;
    private AnthropicUsage _usage;
    private string? _stopReason;

    public AnthropicStreamTranslator(bool includeUsage, string fallbackModel, TimeProvider time)
    {
        _includeUsage = includeUsage;
        _fallbackModel = fallbackModel;
        _time = time;
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> TranslateAsync(SseReader events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunks = new List<byte[]>(2);
        while (await events.ReadAsync(cancellationToken).ConfigureAwait(false) is { } evt)
        {
            if (evt.Data.IsEmpty)
            {
                continue;
            }

            chunks.Clear();
            var stopped = Translate(evt.Data, chunks);
            foreach (var chunk in chunks)
            {
                yield return chunk;
            }

            if (stopped)
            {
                yield break;
            }
        }

        throw new IOException("the stream ended before message_stop");
    }

    /// <summary>Adds the chunks for one event; returns true at <c>message_stop</c>.</summary>
    internal bool Translate(ReadOnlyMemory<byte> data, List<byte[]> chunks)
    {
        // Content deltas are nearly every event of a stream: they are read without building a document.
        if (TryReadDelta(data.Span, out var blockIndex, out var deltaType, out var deltaText))
        {
            switch (deltaType)
            {
                case "text_delta" when deltaText is { Length: > 0 }:
                    chunks.Add(Writer().Content(deltaText));
                    break;
                case "input_json_delta" when deltaText is { Length: > 0 } && _toolIndexByBlock.TryGetValue(blockIndex, out var tool):
                    chunks.Add(Writer().ToolCallArguments(tool, deltaText));
                    break;
            }

            return false;
        }

        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidUpstreamResponseException("a stream event is not a JSON object");
        }

        switch (String(root, "type"))
        {
            case "message_start":
                var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
                _writer = new ChunkWriter(
                    (message.ValueKind == JsonValueKind.Object ? String(message, "id") : null) ?? ResponseIds.NewCompletionId(),
                    _time.GetUtcNow().ToUnixTimeSeconds(),
                    (message.ValueKind == JsonValueKind.Object ? String(message, "model") : null) ?? _fallbackModel);
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("usage", out var startUsage) && startUsage.ValueKind == JsonValueKind.Object)
                {
                    _usage.Update(startUsage);
                }

                chunks.Add(_writer.Role());
                break;
            case "content_block_start":
                StartBlock(root, chunks);
                break;
            case "content_block_delta":
                Delta(root, chunks);
                break;
            case "message_delta":
                if (root.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object && String(delta, "stop_reason") is { } reason)
                {
                    _stopReason = reason;
                }

                if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                {
                    _usage.Update(usage);
                }

                break;
            case "message_stop":
                var writer = Writer();
                chunks.Add(writer.Finish(AnthropicWire.FinishReason(_stopReason)));
                if (_includeUsage)
                {
                    chunks.Add(writer.Usage(_usage, static (w, u) => u.Write(w)));
                }

                return true;
            case "error":
                var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
                var type = error.ValueKind == JsonValueKind.Object ? String(error, "type") : null;
                var text = (error.ValueKind == JsonValueKind.Object ? String(error, "message") : null) ?? "the upstream reported an error";
                var status = AnthropicWire.StatusFor(type);
                throw new UpstreamStreamErrorException(status, OpenAIErrorJson.Create(text, OpenAIErrorJson.TypeForStatus(status), type), $"{type ?? "error"}: {text}");
        }

        // ping, content_block_stop and event types added later carry nothing to translate.
        return false;
    }

    private void StartBlock(JsonElement root, List<byte[]> chunks)
    {
        if (!root.TryGetProperty("content_block", out var block) || block.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        switch (String(block, "type"))
        {
            case "text" when String(block, "text") is { Length: > 0 } text:
                chunks.Add(Writer().Content(text));
                break;
            case "tool_use":
                var toolIndex = _toolIndexByBlock.Count;
                _toolIndexByBlock[BlockIndex(root)] = toolIndex;
                var input = block.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.Object && i.EnumerateObject().Any() ? i.GetRawText() : string.Empty;
                chunks.Add(Writer().ToolCallStart(toolIndex, String(block, "id") ?? string.Empty, String(block, "name") ?? string.Empty, input));
                break;
        }
    }

    private void Delta(JsonElement root, List<byte[]> chunks)
    {
        if (!root.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        switch (String(delta, "type"))
        {
            case "text_delta" when String(delta, "text") is { Length: > 0 } text:
                chunks.Add(Writer().Content(text));
                break;
            case "input_json_delta" when String(delta, "partial_json") is { Length: > 0 } json && _toolIndexByBlock.TryGetValue(BlockIndex(root), out var toolIndex):
                chunks.Add(Writer().ToolCallArguments(toolIndex, json));
                break;
        }
    }

    /// <summary>
    /// Reads a <c>content_block_delta</c> event: its block index, its delta type, and the delta's <c>text</c> or
    /// <c>partial_json</c>. False for any other event (or a delta shaped unexpectedly), which is then read in full.
    /// </summary>
    private static bool TryReadDelta(ReadOnlySpan<byte> json, out int index, out string? deltaType, out string? text)
    {
        index = 0;
        deltaType = null;
        text = null;
        var isDelta = false;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("content_block_delta"u8))
                {
                    return false;
                }

                isDelta = true;
            }
            else if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("type"u8);
                    var isText = reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("partial_json"u8);
                    reader.Read();
                    if (isType && reader.TokenType == JsonTokenType.String)
                    {
                        deltaType = reader.GetString();
                    }
                    else if (isText && reader.TokenType == JsonTokenType.String)
                    {
                        text = reader.GetString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return isDelta;
    }

    private ChunkWriter Writer() => _writer ?? throw new InvalidUpstreamResponseException("the stream did not begin with message_start");

    private static int BlockIndex(JsonElement root) => root.TryGetProperty("index", out var index) && index.TryGetInt32(out var n) ? n : 0;

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
