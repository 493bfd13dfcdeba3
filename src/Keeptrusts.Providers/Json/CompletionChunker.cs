using System.Text.Json;

namespace Keeptrusts.Providers.Json;

/// <summary>
/// Turns a complete answer into the chunks a streamed request expects, for adapters whose source does not stream
/// (echo, <c>file://</c>, an <c>exec:</c> runner that prints one JSON document, an upstream that ignored <c>stream</c>).
/// </summary>
internal static class CompletionChunker
{
    /// <summary>
    /// Chunks a <c>chat.completion</c>: per choice a role chunk, the content in pieces, a refusal, one chunk per tool call
    /// and a chunk with the finish reason; then a usage chunk when <paramref name="includeUsage"/> is set and the answer
    /// has usage. Any other JSON object becomes a single chunk, unchanged.
    /// </summary>
    public static List<ReadOnlyMemory<byte>> Chunk(ReadOnlyMemory<byte> completion, bool includeUsage, string fallbackModel, TimeProvider time)
    {
        using var document = JsonDocument.Parse(completion);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return [completion];
        }

        var writer = new ChunkWriter(
            String(root, "id") ?? ResponseIds.NewCompletionId(),
            root.TryGetProperty("created", out var created) && created.TryGetInt64(out var c) ? c : time.GetUtcNow().ToUnixTimeSeconds(),
            String(root, "model") ?? fallbackModel);

        var chunks = new List<ReadOnlyMemory<byte>>();
        var position = 0;
        foreach (var choice in choices.EnumerateArray())
        {
            var index = choice.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : position;
            position++;
            chunks.Add(writer.Role(index));
            if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                if (String(message, "content") is { Length: > 0 } content)
                {
                    foreach (var piece in TextPieces.Split(content))
                    {
                        chunks.Add(writer.Content(piece, index));
                    }
                }

                if (String(message, "refusal") is { Length: > 0 } refusal)
                {
                    chunks.Add(writer.Refusal(refusal, index));
                }

                if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    var toolIndex = 0;
                    foreach (var call in calls.EnumerateArray())
                    {
                        var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
                        chunks.Add(writer.ToolCallStart(
                            toolIndex++,
                            String(call, "id") ?? string.Empty,
                            function.ValueKind == JsonValueKind.Object ? String(function, "name") ?? string.Empty : string.Empty,
                            function.ValueKind == JsonValueKind.Object ? String(function, "arguments") ?? string.Empty : string.Empty,
                            index));
                    }
                }
            }

            chunks.Add(writer.Finish(String(choice, "finish_reason") ?? "stop", index));
        }

        if (includeUsage && root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            chunks.Add(writer.Usage(usage, static (w, u) => u.WriteTo(w)));
        }

        return chunks;
    }

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
