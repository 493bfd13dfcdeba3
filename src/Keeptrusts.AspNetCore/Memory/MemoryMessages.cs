using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.AspNetCore.Memory;

/// <summary>Moves memory in and out of OpenAI chat bodies.</summary>
internal static class MemoryMessages
{
    public const string Preamble = "Earlier in this conversation (recalled by the gateway):";

    /// <summary>The body with one system message of recalled entries before the first non-system message.</summary>
    public static byte[]? Inject(ReadOnlySpan<byte> body, IReadOnlyList<MemoryEntry> entries)
    {
        if (entries.Count == 0)
        {
            return null;
        }

        try
        {
            if (JsonNode.Parse(body) is not JsonObject root || root["messages"] is not JsonArray messages)
            {
                return null;
            }

            var text = new StringBuilder(Preamble);
            foreach (var entry in entries)
            {
                text.Append('\n').Append(entry.Role).Append(": ").Append(entry.Text);
            }

            var index = 0;
            while (index < messages.Count && messages[index] is JsonObject m && m["role"]?.GetValueKind() == JsonValueKind.String && (string?)m["role"] is "system" or "developer")
            {
                index++;
            }

            messages.Insert(index, new JsonObject { ["role"] = "system", ["content"] = text.ToString() });
            return JsonSerializer.SerializeToUtf8Bytes(root);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The last user message of a request body (as the upstream got it, redacted).</summary>
    public static string? LastUserText(ReadOnlySpan<byte> body) => Read(body, static root =>
        root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            ? messages.EnumerateArray().LastOrDefault(static m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() == "user")
            : default);

    /// <summary>The first choice's message of a completion (as the caller got it, redacted).</summary>
    public static string? AnswerText(ReadOnlySpan<byte> body) => Read(body, static root =>
        root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
            && choices[0].ValueKind == JsonValueKind.Object && choices[0].TryGetProperty("message", out var message)
            ? message
            : default);

    /// <summary>Appends the text a streamed chunk adds to the first choice's answer (<c>choices[0].delta.content</c>), as the caller got it.</summary>
    public static void AppendDeltaText(ReadOnlySpan<byte> chunk, System.Text.StringBuilder answer)
    {
        try
        {
            using var document = JsonDocument.Parse(chunk.ToArray());
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array
                && choices.EnumerateArray().FirstOrDefault(static c => c.ValueKind == JsonValueKind.Object && (!c.TryGetProperty("index", out var i) || (i.ValueKind == JsonValueKind.Number && i.GetInt32() == 0))) is { ValueKind: JsonValueKind.Object } choice
                && choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                answer.Append(content.GetString());
            }
        }
        catch (JsonException)
        {
            // Not a chunk with text (e.g. an error event): nothing to remember from it.
        }
    }

    private static string? Read(ReadOnlySpan<byte> body, Func<JsonElement, JsonElement> pick)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var message = pick(document.RootElement);
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content))
            {
                return null;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                return content.GetString();
            }

            if (content.ValueKind == JsonValueKind.Array)
            {
                var parts = content.EnumerateArray()
                    .Where(static p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    .Select(static p => p.GetProperty("text").GetString());
                return string.Join(' ', parts);
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
