using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keeptrusts.AspNetCore.Mcp;

/// <summary>
/// The string values inside a tool call's arguments, in document order, and the arguments rebuilt with some of them
/// replaced (after a redaction). Keys, numbers and structure pass through unchanged.
/// </summary>
internal static class McpArgumentTexts
{
    /// <summary>Deep enough for any real tool input; deeper documents are refused rather than walked.</summary>
    public const int MaxDepth = 64;

    public static bool TryCollect(IDictionary<string, JsonElement>? arguments, List<string> texts)
    {
        if (arguments is null)
        {
            return true;
        }

        foreach (var value in arguments.Values)
        {
            if (!Collect(value, texts, 1))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Rebuilds the arguments with the <paramref name="texts"/> in the order <see cref="TryCollect"/> found them.</summary>
    public static Dictionary<string, JsonElement> Replace(IDictionary<string, JsonElement> arguments, IReadOnlyList<string> texts)
    {
        var index = 0;
        var result = new Dictionary<string, JsonElement>(arguments.Count, StringComparer.Ordinal);
        foreach (var (key, value) in arguments)
        {
            var node = Rewrite(value, texts, ref index);
            result[key] = node is null ? JsonDocument.Parse("null").RootElement.Clone() : JsonSerializer.SerializeToElement(node, McpJson.Options);
        }

        return result;
    }

    private static bool Collect(JsonElement element, List<string> texts, int depth)
    {
        if (depth > MaxDepth)
        {
            return false;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                texts.Add(element.GetString()!);
                return true;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!Collect(property.Value, texts, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!Collect(item, texts, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    private static JsonNode? Rewrite(JsonElement element, IReadOnlyList<string> texts, ref int index)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return JsonValue.Create(texts[index++]);
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = Rewrite(property.Value, texts, ref index);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(Rewrite(item, texts, ref index));
                }

                return array;
            default:
                return JsonNode.Parse(element.GetRawText());
        }
    }
}

/// <summary>Serializer options for the few values the bridge writes itself.</summary>
internal static class McpJson
{
    public static readonly JsonSerializerOptions Options = ModelContextProtocol.McpJsonUtilities.DefaultOptions;
}
