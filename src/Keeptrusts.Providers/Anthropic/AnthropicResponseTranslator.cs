using System.Buffers;
using System.Text;
using System.Text.Json;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Anthropic;

/// <summary>Translates an Anthropic message into an OpenAI <c>chat.completion</c>.</summary>
internal static class AnthropicResponseTranslator
{
    public static byte[] Translate(ReadOnlyMemory<byte> body, string fallbackModel, TimeProvider time)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidUpstreamResponseException("the body is not an Anthropic message");
        }

        var text = new StringBuilder();
        var toolUses = new List<JsonElement>();
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type))
            {
                continue;
            }

            if (type.ValueEquals("text"u8) && block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                text.Append(t.GetString());
            }
            else if (type.ValueEquals("tool_use"u8))
            {
                toolUses.Add(block);
            }
        }

        var buffer = new ArrayBufferWriter<byte>(512 + body.Length);
        using (var w = new Utf8JsonWriter(buffer, OpenAIErrorJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", String(root, "id") ?? ResponseIds.NewCompletionId());
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", time.GetUtcNow().ToUnixTimeSeconds());
            w.WriteString("model", String(root, "model") ?? fallbackModel);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (text.Length > 0 || toolUses.Count == 0)
            {
                w.WriteString("content", text.ToString());
            }
            else
            {
                w.WriteNull("content");
            }

            w.WriteNull("refusal");
            if (toolUses.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var use in toolUses)
                {
                    w.WriteStartObject();
                    w.WriteString("id", String(use, "id") ?? string.Empty);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", String(use, "name") ?? string.Empty);
                    w.WriteString("arguments", use.TryGetProperty("input", out var input) ? Compact(input) : "{}");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", AnthropicWire.FinishReason(String(root, "stop_reason")));
            w.WriteEndObject();
            w.WriteEndArray();
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                var tokens = AnthropicUsage.From(usage);
                w.WritePropertyName("usage");
                tokens.Write(w);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Compact(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, OpenAIErrorJson.WriterOptions))
        {
            element.WriteTo(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>
/// Anthropic token counts. Anthropic's <c>input_tokens</c> excludes cache reads and writes; OpenAI's
/// <c>prompt_tokens</c> includes them, with cache reads reported as <c>cached_tokens</c>.
/// </summary>
internal record struct AnthropicUsage(long InputTokens, long CacheCreationTokens, long CacheReadTokens, long OutputTokens, bool HasCacheFields)
{
    public readonly long PromptTokens => InputTokens + CacheCreationTokens + CacheReadTokens;

    public static AnthropicUsage From(JsonElement usage)
    {
        var result = default(AnthropicUsage);
        result.Update(usage);
        return result;
    }

    /// <summary>Takes every count present in <paramref name="usage"/> (stream events report them cumulatively).</summary>
    public void Update(JsonElement usage)
    {
        if (Read(usage, "input_tokens") is { } input)
        {
            InputTokens = input;
        }

        if (Read(usage, "cache_creation_input_tokens") is { } creation)
        {
            CacheCreationTokens = creation;
            HasCacheFields = true;
        }

        if (Read(usage, "cache_read_input_tokens") is { } read)
        {
            CacheReadTokens = read;
            HasCacheFields = true;
        }

        if (Read(usage, "output_tokens") is { } output)
        {
            OutputTokens = output;
        }
    }

    public readonly void Write(Utf8JsonWriter w) => UsageJson.Write(w, PromptTokens, OutputTokens, HasCacheFields ? CacheReadTokens : null);

    private static long? Read(JsonElement usage, string name)
        => usage.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;
}
