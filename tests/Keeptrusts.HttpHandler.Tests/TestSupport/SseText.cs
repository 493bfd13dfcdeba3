using System.Text;
using System.Text.Json.Nodes;

namespace Keeptrusts.HttpHandler.Tests.TestSupport;

/// <summary>Reads back the text a caller sees in an event stream.</summary>
internal static class SseText
{
    public static IEnumerable<(string? Type, string Data)> Events(string stream)
    {
        foreach (var block in stream.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? type = null;
            var data = new List<string>();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    type = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Add(line["data:".Length..].TrimStart(' '));
                }
            }

            if (data.Count > 0)
            {
                yield return (type, string.Join('\n', data));
            }
        }
    }

    /// <summary>The concatenated content deltas of an OpenAI chunk stream.</summary>
    public static string OpenAI(string stream)
    {
        var text = new StringBuilder();
        foreach (var (_, data) in Events(stream))
        {
            if (data == "[DONE]" || JsonNode.Parse(data) is not JsonObject chunk || chunk["choices"] is not JsonArray choices)
            {
                continue;
            }

            foreach (var choice in choices)
            {
                text.Append(choice?["delta"]?["content"]?.GetValue<string>());
            }
        }

        return text.ToString();
    }

    /// <summary>The concatenated text deltas of an Anthropic stream (and any text a block started with).</summary>
    public static string Anthropic(string stream)
    {
        var text = new StringBuilder();
        foreach (var (_, data) in Events(stream))
        {
            var node = JsonNode.Parse(data)!;
            switch (node["type"]?.GetValue<string>())
            {
                case "content_block_start":
                    text.Append(node["content_block"]?["text"]?.GetValue<string>());
                    break;
                case "content_block_delta" when (node["delta"]?["type"]?.GetValue<string>()) == "text_delta":
                    text.Append(node["delta"]!["text"]!.GetValue<string>());
                    break;
            }
        }

        return text.ToString();
    }
}
