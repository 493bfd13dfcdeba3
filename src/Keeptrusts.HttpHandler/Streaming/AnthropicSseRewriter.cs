using System.Buffers;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Streaming;

/// <summary>
/// Guards an Anthropic Messages event stream. The text of each content block (<c>text_delta</c>) and the JSON of each
/// tool call (<c>input_json_delta</c>) go through one <see cref="PolicyOutputStream"/>, keyed by block index, so a
/// secret split across deltas is still caught while only a short tail is held. A block's held tail is released, as
/// one more delta, just before its <c>content_block_stop</c>; <c>message_delta</c> and <c>message_stop</c> are held
/// until everything is released. Every other event passes as it came. A block ends the stream with an
/// <c>error</c> event (which Anthropic SDKs raise) and faults the stream with <see cref="KeeptrustsPolicyException"/>.
/// </summary>
internal sealed class AnthropicSseRewriter : ISseRewriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly PolicyExchange _exchange;
    private readonly PolicyOutputStream _output;
    private readonly Dictionary<int, string> _deltaTypes = [];
    private readonly List<(string Type, byte[] Data)> _held = [];
    private long _inputTokens;
    private long _cacheRead;
    private long _outputTokens;
    private bool _sawUsage;
    private bool _done;

    public AnthropicSseRewriter(PolicyExchange exchange)
    {
        _exchange = exchange;
        _output = exchange.BeginOutputStream();
    }

    public Exception? Fault { get; private set; }

    public async ValueTask<SseOutcome> ProcessAsync(SseEvent sseEvent, SseWriter output, CancellationToken cancellationToken)
    {
        if (_done)
        {
            return SseOutcome.End;
        }

        if (!sseEvent.HasData)
        {
            output.WriteRaw(sseEvent.Raw.Span);
            return SseOutcome.Continue;
        }

        try
        {
            using var document = JsonDocument.Parse(sseEvent.Data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Unreadable(output);
            }

            var type = sseEvent.Type ?? (root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null);
            switch (type)
            {
                case "message_start":
                    if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object && message.TryGetProperty("usage", out var startUsage))
                    {
                        ReadUsage(startUsage);
                    }

                    output.WriteRaw(sseEvent.Raw.Span);
                    return SseOutcome.Continue;
                case "content_block_start":
                    return await BlockStartAsync(root, sseEvent, output, cancellationToken).ConfigureAwait(false);
                case "content_block_delta":
                    return await DeltaAsync(root, sseEvent, output, cancellationToken).ConfigureAwait(false);
                case "content_block_stop":
                {
                    var step = await _output.CompleteChoiceAsync(Index(root), cancellationToken).ConfigureAwait(false);
                    if (!WriteDelta(step, Index(root), output))
                    {
                        return SseOutcome.End;
                    }

                    output.WriteRaw(sseEvent.Raw.Span);
                    return SseOutcome.Continue;
                }

                case "message_delta":
                    if (root.TryGetProperty("usage", out var deltaUsage))
                    {
                        ReadUsage(deltaUsage);
                    }

                    _held.Add((type, sseEvent.Data.ToArray()));
                    return SseOutcome.Continue;
                case "message_stop":
                    _held.Add((type, sseEvent.Data.ToArray()));
                    await CompleteAsync(output, cancellationToken).ConfigureAwait(false);
                    return SseOutcome.End;
                case "error":
                    await CompleteAsync(output, cancellationToken).ConfigureAwait(false);
                    if (Fault is null)
                    {
                        output.WriteRaw(sseEvent.Raw.Span);
                    }

                    return SseOutcome.End;
                default:
                    output.WriteRaw(sseEvent.Raw.Span);
                    return SseOutcome.Continue;
            }
        }
        catch (JsonException)
        {
            return Unreadable(output);
        }
    }

    public async ValueTask CompleteAsync(SseWriter output, CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        _done = true;
        if (_sawUsage)
        {
            _exchange.ReportUsage(new TokenUsage(_inputTokens, _outputTokens, _cacheRead));
        }

        var (remaining, record) = await _output.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (record.Decision == PolicyDecision.Block)
        {
            Block(record, output);
            return;
        }

        foreach (var (index, text) in remaining)
        {
            if (text.Length > 0)
            {
                output.WriteEvent("content_block_delta", DeltaPayload(index, _deltaTypes.GetValueOrDefault(index, "text_delta"), text));
            }
        }

        foreach (var (type, data) in _held)
        {
            output.WriteEvent(type, data);
        }
    }

    private async ValueTask<SseOutcome> BlockStartAsync(JsonElement root, SseEvent sseEvent, SseWriter output, CancellationToken cancellationToken)
    {
        var index = Index(root);
        if (!root.TryGetProperty("content_block", out var block) || block.ValueKind != JsonValueKind.Object)
        {
            output.WriteRaw(sseEvent.Raw.Span);
            return SseOutcome.Continue;
        }

        var blockType = block.TryGetProperty("type", out var bt) && bt.ValueKind == JsonValueKind.String ? bt.GetString() : null;
        _deltaTypes[index] = blockType is "tool_use" or "server_tool_use" ? "input_json_delta" : "text_delta";

        // A text block may start with text of its own: it is guarded like a delta.
        if (blockType == "text" && block.TryGetProperty("text", out var initial) && initial.ValueKind == JsonValueKind.String && initial.GetString() is { Length: > 0 } text)
        {
            var step = await _output.AppendAsync(index, text, cancellationToken).ConfigureAwait(false);
            if (step.Blocked is { } blocked)
            {
                Block(blocked, output);
                return SseOutcome.End;
            }

            output.WriteEvent("content_block_start", Replace(root, "content_block", "text", step.Emit));
            return SseOutcome.Continue;
        }

        output.WriteRaw(sseEvent.Raw.Span);
        return SseOutcome.Continue;
    }

    private async ValueTask<SseOutcome> DeltaAsync(JsonElement root, SseEvent sseEvent, SseWriter output, CancellationToken cancellationToken)
    {
        var index = Index(root);
        if (!root.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object
            || !delta.TryGetProperty("type", out var dt) || dt.ValueKind != JsonValueKind.String)
        {
            output.WriteRaw(sseEvent.Raw.Span);
            return SseOutcome.Continue;
        }

        var field = dt.ValueEquals("text_delta"u8) ? "text" : dt.ValueEquals("input_json_delta"u8) ? "partial_json" : null;
        if (field is null || !delta.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
        {
            // Thinking, signatures and citations pass as they came.
            output.WriteRaw(sseEvent.Raw.Span);
            return SseOutcome.Continue;
        }

        _deltaTypes[index] = dt.GetString()!;
        var step = await _output.AppendAsync(index, value.GetString()!, cancellationToken).ConfigureAwait(false);
        if (step.Blocked is { } blocked)
        {
            Block(blocked, output);
            return SseOutcome.End;
        }

        if (step.Emit.Length > 0)
        {
            output.WriteEvent("content_block_delta", Replace(root, "delta", field, step.Emit));
        }

        return SseOutcome.Continue;
    }

    /// <summary>Writes the released rest of a block as one more delta; false (after writing the error) when blocked.</summary>
    private bool WriteDelta(StreamStep step, int index, SseWriter output)
    {
        if (step.Blocked is { } blocked)
        {
            Block(blocked, output);
            return false;
        }

        if (step.Emit.Length > 0)
        {
            output.WriteEvent("content_block_delta", DeltaPayload(index, _deltaTypes.GetValueOrDefault(index, "text_delta"), step.Emit));
        }

        return true;
    }

    private void Block(DecisionRecord blocked, SseWriter output)
    {
        _done = true;
        output.WriteEvent("error", AnthropicErrors.ForDecision(blocked).Body);
        Fault = new KeeptrustsPolicyException(blocked);
    }

    private SseOutcome Unreadable(SseWriter output)
    {
        _done = true;
        const string Message = "The provider's stream sent an event that is not JSON; the stream was stopped so that nothing unchecked reaches the caller.";
        output.WriteEvent("error", AnthropicErrors.Create(Message, "api_error"));
        Fault = new IOException(Message);
        return SseOutcome.End;
    }

    private void ReadUsage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        _sawUsage = true;
        long input = 0, cacheWrite = 0;
        var hasInput = false;
        foreach (var property in usage.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out var n) || n < 0)
            {
                continue;
            }

            if (property.NameEquals("input_tokens"u8))
            {
                (input, hasInput) = (n, true);
            }
            else if (property.NameEquals("cache_read_input_tokens"u8))
            {
                _cacheRead = n;
                hasInput = true;
            }
            else if (property.NameEquals("cache_creation_input_tokens"u8))
            {
                cacheWrite = n;
                hasInput = true;
            }
            else if (property.NameEquals("output_tokens"u8))
            {
                // Output counts are cumulative: the last one is the total.
                _outputTokens = n;
            }
        }

        if (hasInput)
        {
            _inputTokens = input + _cacheRead + cacheWrite;
        }
    }

    private static int Index(JsonElement root) =>
        root.TryGetProperty("index", out var i) && i.TryGetInt32(out var index) && index >= 0 ? index : 0;

    private static byte[] DeltaPayload(int index, string deltaType, string text)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + text.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "content_block_delta"u8);
            writer.WriteNumber("index"u8, index);
            writer.WriteStartObject("delta"u8);
            writer.WriteString("type"u8, deltaType);
            writer.WriteString(deltaType == "input_json_delta" ? "partial_json"u8 : "text"u8, text);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The event with <paramref name="objectName"/>.<paramref name="field"/> replaced and every other field kept.</summary>
    private static byte[] Replace(JsonElement root, string objectName, string field, string value)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + value.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (!property.NameEquals(objectName))
                {
                    property.WriteTo(writer);
                    continue;
                }

                writer.WritePropertyName(objectName);
                writer.WriteStartObject();
                foreach (var inner in property.Value.EnumerateObject())
                {
                    if (inner.NameEquals(field))
                    {
                        writer.WriteString(field, value);
                    }
                    else
                    {
                        inner.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
