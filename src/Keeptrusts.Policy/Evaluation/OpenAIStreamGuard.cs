using System.Buffers;
using System.Text.Json;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>What an <see cref="OpenAIStreamGuard"/> lets through after one upstream chunk (or at the end).</summary>
public readonly record struct ChunkStep
{
    /// <summary>The <c>chat.completion.chunk</c> JSON payloads to send to the caller now, in order (without SSE framing).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Emit { get; init; }

    /// <summary>Set when the stream must end: the caller gets an error event instead of the rest, and no <c>[DONE]</c>.</summary>
    public DecisionRecord? Blocked { get; init; }
}

/// <summary>
/// Applies the output policies to a streamed OpenAI chat completion, chunk by chunk. Content and tool-call argument
/// deltas go through a <see cref="PolicyOutputStream"/>, so a secret split across chunks is still caught while only a
/// short tail is held back; every other field of every chunk passes through as it came. A choice's
/// <c>finish_reason</c> and any usage-only chunk are held until the upstream ends, so the held tail is released before
/// them. Not thread-safe: one guard per stream.
/// </summary>
public sealed class OpenAIStreamGuard
{
    // Tool-call argument streams share the output stream with content; they are keyed apart from choice indexes.
    private const int ToolKeyBase = 1 << 20;
    private const int ToolKeysPerChoice = 1 << 10;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly PolicyExchange _exchange;
    private readonly PolicyOutputStream _output;
    private readonly bool _stripUsage;
    private readonly SortedDictionary<int, string> _finishReasons = [];
    private readonly List<ReadOnlyMemory<byte>> _heldUsage = [];
    private byte[]? _template;
    private bool _ended;

    // tool-governance: each streamed tool call's name and its arguments so far, keyed like the output stream.
    private Dictionary<int, (string? Name, System.Text.StringBuilder Arguments)>? _toolCalls;

    /// <summary>Creates a guard for the response of <paramref name="exchange"/>.</summary>
    /// <param name="exchange">The exchange the request was evaluated in; usage read from the stream is reported to it.</param>
    /// <param name="stripUsage">
    /// Whether to remove <c>usage</c> from what the caller gets: set it when usage was asked for on the caller's behalf
    /// (see <see cref="RequestUsage"/>) and the caller did not ask for it.
    /// </param>
    public OpenAIStreamGuard(PolicyExchange exchange, bool stripUsage = false)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        _exchange = exchange;
        _output = exchange.BeginOutputStream();
        _stripUsage = stripUsage;
    }

    /// <summary>
    /// Makes sure a streamed request asks the upstream for usage (<c>stream_options.include_usage</c>), so spend and
    /// records see token counts for streams too.
    /// </summary>
    /// <param name="body">The request body (OpenAI chat-completions JSON).</param>
    /// <param name="added">True when the caller had not asked for usage and it was added: strip it from their stream.</param>
    /// <returns>The body to send upstream: <paramref name="body"/> itself when nothing had to change.</returns>
    public static ReadOnlyMemory<byte> RequestUsage(ReadOnlyMemory<byte> body, out bool added)
    {
        added = false;
        using var document = ParseObject(body);
        var root = document.RootElement;
        if (root.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True)
        {
            return body;
        }

        var buffer = new ArrayBufferWriter<byte>(body.Length + 48);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (property.NameEquals("stream_options"u8))
                {
                    continue;
                }

                property.WriteTo(writer);
            }

            writer.WriteStartObject("stream_options"u8);
            if (options.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in options.EnumerateObject())
                {
                    if (!property.NameEquals("include_usage"u8))
                    {
                        property.WriteTo(writer);
                    }
                }
            }

            writer.WriteBoolean("include_usage"u8, true);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        added = true;
        return buffer.WrittenMemory;
    }

    /// <summary>Takes one upstream chunk payload and returns what may be sent on.</summary>
    /// <param name="chunk">A <c>chat.completion.chunk</c> JSON payload.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The payloads to emit now (possibly none), or a block.</returns>
    /// <exception cref="JsonException">The payload is not a JSON object.</exception>
    public async ValueTask<ChunkStep> ProcessAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        using var document = ParseObject(chunk);
        var root = document.RootElement;
        _template ??= Template(root);

        if (root.TryGetProperty("usage", out var usageElement) && usageElement.ValueKind == JsonValueKind.Object)
        {
            var reader = new Utf8JsonReader(chunk.Span);
            if (TryReadUsage(ref reader) is { } usage)
            {
                _exchange.ReportUsage(usage);
            }
        }

        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            // An upstream error event: the caller must see it now, not after the stream ends.
            return new ChunkStep { Emit = [chunk.ToArray()] };
        }

        var choices = root.TryGetProperty("choices", out var c) && c.ValueKind == JsonValueKind.Array ? c : default;
        if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            // A usage-only chunk (or one with no choices): sent after the held tail, at the end.
            if (!_stripUsage)
            {
                _heldUsage.Add(chunk.ToArray());
            }

            return Nothing;
        }

        // First run every delta through the policies; only then write, so a block emits nothing of this chunk.
        var replacements = new Dictionary<(int Choice, int Tool), string>();
        foreach (var choice in choices.EnumerateArray())
        {
            var index = ChoiceIndex(choice);
            if (!choice.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                var step = await _output.AppendAsync(index, content.GetString()!, cancellationToken).ConfigureAwait(false);
                if (step.Blocked is { } blocked)
                {
                    return Block(blocked);
                }

                replacements[(index, -1)] = step.Emit;
            }

            if (delta.TryGetProperty("tool_calls", out var tools) && tools.ValueKind == JsonValueKind.Array)
            {
                foreach (var tool in tools.EnumerateArray())
                {
                    var toolIndex = tool.TryGetProperty("index", out var ti) && ti.TryGetInt32(out var t) ? t : 0;
                    if (toolIndex is < 0 or >= ToolKeysPerChoice)
                    {
                        continue;
                    }

                    if (tool.TryGetProperty("function", out var toolFunction) && toolFunction.ValueKind == JsonValueKind.Object
                        && await CheckToolCallAsync(ToolKey(index, toolIndex), toolFunction, cancellationToken).ConfigureAwait(false) is { } refused)
                    {
                        return Block(refused);
                    }

                    if (tool.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
                        && function.TryGetProperty("arguments", out var arguments) && arguments.ValueKind == JsonValueKind.String)
                    {
                        var step = await _output.AppendAsync(ToolKey(index, toolIndex), arguments.GetString()!, cancellationToken).ConfigureAwait(false);
                        if (step.Blocked is { } blocked)
                        {
                            return Block(blocked);
                        }

                        replacements[(index, toolIndex)] = step.Emit;
                    }
                }
            }
        }

        var rewritten = Rewrite(root, replacements, out var meaningful);
        return meaningful ? new ChunkStep { Emit = [rewritten] } : Nothing;
    }

    /// <summary>
    /// Ends the stream after the upstream's last chunk: releases the held tail of every choice with its
    /// <c>finish_reason</c>, then any usage chunk, and publishes the stream's decision record.
    /// </summary>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The final payloads, or a block.</returns>
    public async ValueTask<ChunkStep> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        if (_toolCalls is not null)
        {
            // Arguments are whole only now: check each call against the schema the request offered.
            var (rules, offered) = _exchange.ToolState;
            foreach (var (name, arguments) in _toolCalls.Values)
            {
                if (name is not null && ChatToolGovernance.CheckCall(name, arguments.ToString(), rules, offered) is { } violation)
                {
                    return Block(await _exchange.RecordViolationAsync(PolicyPhase.Output, violation, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        _ended = true;
        var (remaining, record) = await _output.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (record.Decision == PolicyDecision.Block)
        {
            return new ChunkStep { Emit = [], Blocked = record };
        }

        var emit = new List<ReadOnlyMemory<byte>>(2 + _heldUsage.Count);
        var choices = new SortedSet<int>(_finishReasons.Keys);
        foreach (var (key, text) in remaining)
        {
            if (text.Length > 0)
            {
                choices.Add(ChoiceOf(key));
            }
        }

        if (choices.Count > 0)
        {
            emit.Add(FinalChunk(choices, remaining));
        }

        emit.AddRange(_heldUsage);
        return new ChunkStep { Emit = emit };
    }

    private static ChunkStep Nothing => new() { Emit = [] };

    /// <summary>Refuses a streamed tool call as soon as it names a denied tool, or once its arguments pass the size limit.</summary>
    private async ValueTask<DecisionRecord?> CheckToolCallAsync(int key, JsonElement function, CancellationToken cancellationToken)
    {
        var (rules, offered) = _exchange.ToolState;
        if (!rules.IsEnforced)
        {
            return null;
        }

        _toolCalls ??= [];
        if (!_toolCalls.TryGetValue(key, out var call))
        {
            call = (null, new System.Text.StringBuilder());
        }

        if (function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && call.Name is null)
        {
            call.Name = name.GetString();
            if (ChatToolGovernance.CheckCall(call.Name!, null, rules, offered) is { } violation)
            {
                return await _exchange.RecordViolationAsync(PolicyPhase.Output, violation, cancellationToken).ConfigureAwait(false);
            }
        }

        if (function.TryGetProperty("arguments", out var arguments) && arguments.ValueKind == JsonValueKind.String)
        {
            call.Arguments.Append(arguments.GetString());
            if (call.Arguments.Length > rules.MaxArgumentBytes)
            {
                var tooLarge = new ToolViolation(call.Name ?? string.Empty, $"the answer's tool-call arguments exceed the limit of {rules.MaxArgumentBytes} bytes", "tool_arguments_too_large", "TOOL_PAYLOAD_TOO_LARGE");
                return await _exchange.RecordViolationAsync(PolicyPhase.Output, tooLarge, cancellationToken).ConfigureAwait(false);
            }
        }

        _toolCalls[key] = call;
        return null;
    }

    private ChunkStep Block(DecisionRecord blocked)
    {
        _ended = true;
        return new ChunkStep { Emit = [], Blocked = blocked };
    }

    private static int ToolKey(int choice, int tool) => ToolKeyBase + (choice * ToolKeysPerChoice) + tool;

    private static int ChoiceOf(int key) => key >= ToolKeyBase ? (key - ToolKeyBase) / ToolKeysPerChoice : key;

    private static int ChoiceIndex(JsonElement choice) =>
        choice.TryGetProperty("index", out var i) && i.TryGetInt32(out var index) && index is >= 0 and < 1024 ? index : 0;

    private static JsonDocument ParseObject(ReadOnlyMemory<byte> json)
    {
        var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = OpenAIChatReader.MaxDepth });
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new JsonException("a chat completion chunk must be a JSON object");
        }

        return document;
    }

    private static TokenUsage? TryReadUsage(ref Utf8JsonReader reader)
    {
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                return OpenAIChatReader.ReadUsage(ref reader);
            }

            reader.Read();
            reader.Skip();
        }

        return null;
    }

    /// <summary>The chunk's identity fields (id, object, created, model, system_fingerprint), reused for the final chunk.</summary>
    private static byte[] Template(JsonElement root)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (property.NameEquals("id"u8) || property.NameEquals("object"u8) || property.NameEquals("created"u8)
                    || property.NameEquals("model"u8) || property.NameEquals("system_fingerprint"u8) || property.NameEquals("service_tier"u8))
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private ReadOnlyMemory<byte> Rewrite(JsonElement root, Dictionary<(int Choice, int Tool), string> replacements, out bool meaningful)
    {
        meaningful = false;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (property.NameEquals("usage"u8))
                {
                    if (_stripUsage)
                    {
                        continue;
                    }

                    meaningful |= property.Value.ValueKind == JsonValueKind.Object;
                    property.WriteTo(writer);
                }
                else if (property.NameEquals("choices"u8))
                {
                    writer.WritePropertyName("choices"u8);
                    writer.WriteStartArray();
                    foreach (var choice in property.Value.EnumerateArray())
                    {
                        meaningful |= WriteChoice(writer, choice, replacements);
                    }

                    writer.WriteEndArray();
                }
                else
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Writes one choice with its deltas replaced; returns whether it carries anything for the caller.</summary>
    private bool WriteChoice(Utf8JsonWriter writer, JsonElement choice, Dictionary<(int Choice, int Tool), string> replacements)
    {
        if (choice.ValueKind != JsonValueKind.Object)
        {
            choice.WriteTo(writer);
            return true;
        }

        var index = ChoiceIndex(choice);
        var meaningful = false;
        writer.WriteStartObject();
        foreach (var property in choice.EnumerateObject())
        {
            if (property.NameEquals("finish_reason"u8))
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    _finishReasons[index] = property.Value.GetString()!;
                }

                writer.WriteNull("finish_reason"u8);
            }
            else if (property.NameEquals("delta"u8) && property.Value.ValueKind == JsonValueKind.Object)
            {
                writer.WritePropertyName("delta"u8);
                meaningful |= WriteDelta(writer, property.Value, index, replacements);
            }
            else
            {
                meaningful |= property.NameEquals("logprobs"u8) && property.Value.ValueKind != JsonValueKind.Null;
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
        return meaningful;
    }

    private static bool WriteDelta(Utf8JsonWriter writer, JsonElement delta, int index, Dictionary<(int Choice, int Tool), string> replacements)
    {
        var meaningful = false;
        writer.WriteStartObject();
        foreach (var property in delta.EnumerateObject())
        {
            if (property.NameEquals("content"u8) && replacements.TryGetValue((index, -1), out var text))
            {
                writer.WriteString("content"u8, text);
                meaningful |= text.Length > 0;
            }
            else if (property.NameEquals("tool_calls"u8) && property.Value.ValueKind == JsonValueKind.Array)
            {
                writer.WritePropertyName("tool_calls"u8);
                writer.WriteStartArray();
                foreach (var tool in property.Value.EnumerateArray())
                {
                    meaningful |= WriteToolCall(writer, tool, index, replacements);
                }

                writer.WriteEndArray();
            }
            else
            {
                meaningful |= property.Value.ValueKind != JsonValueKind.Null;
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
        return meaningful;
    }

    private static bool WriteToolCall(Utf8JsonWriter writer, JsonElement tool, int index, Dictionary<(int Choice, int Tool), string> replacements)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            tool.WriteTo(writer);
            return true;
        }

        var toolIndex = tool.TryGetProperty("index", out var ti) && ti.TryGetInt32(out var t) ? t : 0;
        var meaningful = false;
        writer.WriteStartObject();
        foreach (var property in tool.EnumerateObject())
        {
            if (property.NameEquals("function"u8) && property.Value.ValueKind == JsonValueKind.Object)
            {
                writer.WriteStartObject("function"u8);
                foreach (var field in property.Value.EnumerateObject())
                {
                    if (field.NameEquals("arguments"u8) && replacements.TryGetValue((index, toolIndex), out var arguments))
                    {
                        writer.WriteString("arguments"u8, arguments);
                        meaningful |= arguments.Length > 0;
                    }
                    else
                    {
                        meaningful = true;
                        field.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }
            else
            {
                // id and type arrive once, with the call's first delta: that delta always goes out.
                meaningful |= property.NameEquals("id"u8) || property.NameEquals("type"u8);
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
        return meaningful;
    }

    private ReadOnlyMemory<byte> FinalChunk(SortedSet<int> choices, IReadOnlyDictionary<int, string> remaining)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            if (_template is not null)
            {
                using var template = JsonDocument.Parse(_template);
                foreach (var property in template.RootElement.EnumerateObject())
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteStartArray("choices"u8);
            foreach (var choice in choices)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, choice);
                writer.WriteStartObject("delta"u8);
                if (remaining.TryGetValue(choice, out var text) && text.Length > 0)
                {
                    writer.WriteString("content"u8, text);
                }

                var tools = remaining.Where(r => r.Key >= ToolKeyBase && ChoiceOf(r.Key) == choice && r.Value.Length > 0).OrderBy(static r => r.Key).ToList();
                if (tools.Count > 0)
                {
                    writer.WriteStartArray("tool_calls"u8);
                    foreach (var (key, arguments) in tools)
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("index"u8, (key - ToolKeyBase) % ToolKeysPerChoice);
                        writer.WriteStartObject("function"u8);
                        writer.WriteString("arguments"u8, arguments);
                        writer.WriteEndObject();
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
                if (_finishReasons.TryGetValue(choice, out var reason))
                {
                    writer.WriteString("finish_reason"u8, reason);
                }
                else
                {
                    writer.WriteNull("finish_reason"u8);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
