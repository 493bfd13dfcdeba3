using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Anthropic;

/// <summary>
/// Translates an OpenAI chat-completions request into an Anthropic Messages request. Fields Anthropic has no
/// equivalent for (penalties, logprobs, seed, response_format, …) are not sent; a request Anthropic cannot express
/// at all (n &gt; 1, audio or file parts, non-function tools) fails with <see cref="InvalidRequestException"/>.
/// </summary>
internal static class AnthropicRequestTranslator
{
    /// <summary>Anthropic requires <c>max_tokens</c>; this is sent when the request sets neither max_completion_tokens nor max_tokens.</summary>
    public const int DefaultMaxTokens = 4096;

    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Translate(ReadOnlyMemory<byte> body, string model, bool stream)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("the request body is not a JSON object");
        }

        if (root.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && (!n.TryGetInt32(out var count) || count > 1))
        {
            throw new InvalidRequestException("n greater than 1 cannot be sent to an anthropic-format target", "n");
        }

        var output = new JsonObject { ["model"] = model, ["max_tokens"] = MaxTokens(root) };
        var (system, turns) = ReadMessages(root);
        if (system.Count > 0)
        {
            output["system"] = string.Join("\n\n", system);
        }

        var messages = new JsonArray();
        foreach (var turn in turns)
        {
            messages.Add(turn.ToJson());
        }

        output["messages"] = messages;
        var hasTools = WriteTools(root, output);
        if (hasTools)
        {
            WriteToolChoice(root, output);
        }

        if (root.TryGetProperty("stop", out var stop))
        {
            var sequences = stop.ValueKind switch
            {
                JsonValueKind.String => new JsonArray(stop.GetString()),
                JsonValueKind.Array => new JsonArray(stop.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.String).Select(s => (JsonNode?)s.GetString()).ToArray()),
                _ => null,
            };
            if (sequences is { Count: > 0 })
            {
                output["stop_sequences"] = sequences;
            }
        }

        if (root.TryGetProperty("temperature", out var temperature) && temperature.ValueKind == JsonValueKind.Number)
        {
            // OpenAI allows 0–2, Anthropic 0–1.
            output["temperature"] = Math.Clamp(temperature.GetDouble(), 0, 1);
        }

        if (root.TryGetProperty("top_p", out var topP) && topP.ValueKind == JsonValueKind.Number)
        {
            output["top_p"] = topP.GetDouble();
        }

        if (root.TryGetProperty("user", out var user) && user.ValueKind == JsonValueKind.String)
        {
            output["metadata"] = new JsonObject { ["user_id"] = user.GetString() };
        }

        if (stream)
        {
            output["stream"] = true;
        }

        return JsonSerializer.SerializeToUtf8Bytes(output, WriteOptions);
    }

    private static int MaxTokens(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
            {
                return value.TryGetInt32(out var tokens) && tokens > 0
                    ? tokens
                    : throw new InvalidRequestException($"{name} must be a positive integer", name);
            }
        }

        return DefaultMaxTokens;
    }

    private static (List<string> System, List<Turn> Turns) ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("messages must be an array", "messages");
        }

        var system = new List<string>();
        var turns = new List<Turn>();
        var i = -1;
        foreach (var message in messages.EnumerateArray())
        {
            i++;
            var path = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            {
                throw new InvalidRequestException($"{path} must be an object with a role", path);
            }

            var content = message.TryGetProperty("content", out var c) ? c : default;
            switch (roleElement.GetString())
            {
                case "system" or "developer":
                    system.Add(TextOnly(content, path + ".content"));
                    break;
                case "user":
                    Append(turns, "user", UserBlocks(content, path + ".content"));
                    break;
                case "assistant":
                    Append(turns, "assistant", AssistantBlocks(message, content, path));
                    break;
                case "tool":
                    Append(turns, "user", [ToolResult(message, content, path)]);
                    break;
                case var role:
                    throw new InvalidRequestException($"{path} has role '{role}', which cannot be sent to an anthropic-format target", path + ".role");
            }
        }

        return (system, turns);
    }

    private static void Append(List<Turn> turns, string role, List<JsonObject> blocks)
    {
        if (blocks.Count == 0)
        {
            return;
        }

        // Anthropic alternates user and assistant turns: consecutive messages of one role (a tool result followed by
        // the user's next words, several tool results) become one turn.
        if (turns.Count > 0 && turns[^1].Role == role)
        {
            turns[^1].Blocks.AddRange(blocks);
        }
        else
        {
            turns.Add(new Turn(role, blocks));
        }
    }

    private static string TextOnly(JsonElement content, string path)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }

        var texts = new List<string>();
        var j = -1;
        foreach (var part in content.EnumerateArray())
        {
            j++;
            if (PartType(part) != "text")
            {
                throw new InvalidRequestException($"{path}[{j}] must be a text part here", $"{path}[{j}]");
            }

            texts.Add(PartText(part));
        }

        return string.Join("\n", texts);
    }

    private static List<JsonObject> UserBlocks(JsonElement content, string path)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return [TextBlock(content.GetString()!)];
        }

        var blocks = new List<JsonObject>();
        if (content.ValueKind != JsonValueKind.Array)
        {
            return blocks;
        }

        var j = -1;
        foreach (var part in content.EnumerateArray())
        {
            j++;
            switch (PartType(part))
            {
                case "text":
                    blocks.Add(TextBlock(PartText(part)));
                    break;
                case "image_url":
                    blocks.Add(ImageBlock(part, $"{path}[{j}]"));
                    break;
                case var type:
                    throw new InvalidRequestException($"{path}[{j}] is a '{type}' part, which cannot be sent to an anthropic-format target", $"{path}[{j}].type");
            }
        }

        return blocks;
    }

    private static List<JsonObject> AssistantBlocks(JsonElement message, JsonElement content, string path)
    {
        var blocks = new List<JsonObject>();
        var text = TextOnly(content, path + ".content");
        if (text.Length > 0)
        {
            blocks.Add(TextBlock(text));
        }

        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            var j = -1;
            foreach (var call in calls.EnumerateArray())
            {
                j++;
                var callPath = $"{path}.tool_calls[{j}]";
                var function = call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                    ? f
                    : throw new InvalidRequestException($"{callPath} must be a function call", callPath);
                blocks.Add(new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = String(call, "id") ?? $"call_{j}",
                    ["name"] = String(function, "name") ?? throw new InvalidRequestException($"{callPath}.function.name is required", callPath + ".function.name"),
                    ["input"] = Arguments(String(function, "arguments"), callPath + ".function.arguments"),
                });
            }
        }

        return blocks;
    }

    private static JsonObject ToolResult(JsonElement message, JsonElement content, string path)
    {
        var id = String(message, "tool_call_id") ?? throw new InvalidRequestException($"{path}.tool_call_id is required", path + ".tool_call_id");
        return new JsonObject
        {
            ["type"] = "tool_result",
            ["tool_use_id"] = id,
            ["content"] = TextOnly(content, path + ".content"),
        };
    }

    private static JsonObject Arguments(string? arguments, string path)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(arguments) as JsonObject ?? throw new InvalidRequestException($"{path} must be a JSON object", path);
        }
        catch (JsonException)
        {
            throw new InvalidRequestException($"{path} is not valid JSON", path);
        }
    }

    private static JsonObject ImageBlock(JsonElement part, string path)
    {
        var url = part.TryGetProperty("image_url", out var image) ? image.ValueKind switch
        {
            JsonValueKind.Object => String(image, "url"),
            JsonValueKind.String => image.GetString(),
            _ => null,
        } : null;
        if (string.IsNullOrEmpty(url))
        {
            throw new InvalidRequestException($"{path}.image_url.url is required", path + ".image_url.url");
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            // data:<media type>;base64,<data>
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 0 ? url[5..comma] : string.Empty;
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidRequestException($"{path}.image_url.url must be a base64 data URL or an http(s) URL", path + ".image_url.url");
            }

            return new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = header[..^7], ["data"] = url[(comma + 1)..] },
            };
        }

        return new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "url", ["url"] = url } };
    }

    private static bool WriteTools(JsonElement root, JsonObject output)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
        {
            return false;
        }

        var result = new JsonArray();
        var i = -1;
        foreach (var tool in tools.EnumerateArray())
        {
            i++;
            var path = $"tools[{i}]";
            if (tool.ValueKind != JsonValueKind.Object || String(tool, "type") != "function" || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException($"{path} is not a function tool; only function tools can be sent to an anthropic-format target", path);
            }

            var translated = new JsonObject { ["name"] = String(function, "name") ?? throw new InvalidRequestException($"{path}.function.name is required", path + ".function.name") };
            if (String(function, "description") is { } description)
            {
                translated["description"] = description;
            }

            translated["input_schema"] = function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
                ? JsonNode.Parse(parameters.GetRawText())
                : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
            result.Add(translated);
        }

        output["tools"] = result;
        return true;
    }

    private static void WriteToolChoice(JsonElement root, JsonObject output)
    {
        JsonObject? choice = null;
        if (root.TryGetProperty("tool_choice", out var toolChoice))
        {
            choice = toolChoice.ValueKind switch
            {
                JsonValueKind.String => toolChoice.GetString() switch
                {
                    "auto" => new JsonObject { ["type"] = "auto" },
                    "none" => new JsonObject { ["type"] = "none" },
                    "required" => new JsonObject { ["type"] = "any" },
                    var other => throw new InvalidRequestException($"tool_choice '{other}' is not one of auto, none, required", "tool_choice"),
                },
                JsonValueKind.Object when toolChoice.TryGetProperty("function", out var f) && String(f, "name") is { } name => new JsonObject { ["type"] = "tool", ["name"] = name },
                JsonValueKind.Null => null,
                _ => throw new InvalidRequestException("tool_choice must be auto, none, required or a named function", "tool_choice"),
            };
        }

        if (root.TryGetProperty("parallel_tool_calls", out var parallel) && parallel.ValueKind == JsonValueKind.False)
        {
            choice ??= new JsonObject { ["type"] = "auto" };
            if ((string?)choice["type"] != "none")
            {
                choice["disable_parallel_tool_use"] = true;
            }
        }

        if (choice is not null)
        {
            output["tool_choice"] = choice;
        }
    }

    private static JsonObject TextBlock(string text) => new() { ["type"] = "text", ["text"] = text };

    private static string? PartType(JsonElement part) => part.ValueKind == JsonValueKind.Object ? String(part, "type") : null;

    private static string PartText(JsonElement part) => String(part, "text") ?? string.Empty;

    private static string? String(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed record Turn(string Role, List<JsonObject> Blocks)
    {
        public JsonObject ToJson()
        {
            if (Blocks is [{ } only] && (string?)only["type"] == "text")
            {
                return new JsonObject { ["role"] = Role, ["content"] = (string?)only["text"] };
            }

            // Tool results lead their user turn, as Anthropic requires.
            var ordered = Blocks.Where(static b => (string?)b["type"] == "tool_result").Concat(Blocks.Where(static b => (string?)b["type"] != "tool_result"));
            return new JsonObject { ["role"] = Role, ["content"] = new JsonArray(ordered.Select(static b => (JsonNode?)b).ToArray()) };
        }
    }
}
