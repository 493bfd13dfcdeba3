using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>The case as OpenAI chat-completions JSON, and the echo provider's answers in that format.</summary>
internal static class Wire
{
    public const string ToolCallId = "call_1";
    public const string ToolName = "lookup";

    public static JsonArray Messages(ConformanceCase testCase)
    {
        var messages = new JsonArray();
        foreach (var message in testCase.Messages)
        {
            messages.Add(message.Role switch
            {
                "assistant" => new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = null,
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = ToolCallId,
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = ToolName, ["arguments"] = message.Text },
                    }),
                },
                "tool" => new JsonObject { ["role"] = "tool", ["tool_call_id"] = ToolCallId, ["content"] = message.Text },
                _ => new JsonObject { ["role"] = message.Role, ["content"] = message.Text },
            });
        }

        return messages;
    }

    /// <summary>The parameters schema of every offered tool.</summary>
    public const string ToolParameters = """{"type":"object","properties":{"q":{"type":"string"}}}""";

    public static byte[] Request(ConformanceCase testCase, bool stream)
    {
        var request = new JsonObject
        {
            ["model"] = "echo-1",
            ["messages"] = Messages(testCase),
            ["stream"] = stream,
        };
        if (testCase.Tools.Count > 0)
        {
            request["tools"] = new JsonArray([.. testCase.Tools.Select(static name => (JsonNode)new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["parameters"] = JsonNode.Parse(ToolParameters) },
            })]);
        }

        return Encoding.UTF8.GetBytes(request.ToJsonString());
    }

    /// <summary>What the echo answers: the last user message as it reached the provider.</summary>
    public static string LastUser(ReadOnlySpan<byte> request)
    {
        var node = JsonNode.Parse(request)!;
        return node["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();
    }

    public static string Completion(string text) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-echo",
        @object = "chat.completion",
        created = 1_700_000_000,
        model = "echo-1",
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 5, completion_tokens = 5, total_tokens = 10 },
    });

    public static IEnumerable<string> Chunks(string text, int[] sizes)
    {
        foreach (var delta in Cut(text, sizes))
        {
            yield return JsonSerializer.Serialize(new
            {
                id = "chatcmpl-echo",
                @object = "chat.completion.chunk",
                created = 1_700_000_000,
                model = "echo-1",
                choices = new[] { new { index = 0, delta = new { content = delta }, finish_reason = (string?)null } },
            });
        }

        yield return JsonSerializer.Serialize(new
        {
            id = "chatcmpl-echo",
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model = "echo-1",
            choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } },
        });
    }

    public static string EventStream(string text, int[] sizes) =>
        string.Concat(Chunks(text, sizes).Select(c => "data: " + c + "\n\n")) + "data: [DONE]\n\n";

    public static IEnumerable<string> Cut(string text, int[] sizes)
    {
        var i = 0;
        var k = 0;
        while (i < text.Length)
        {
            var end = Math.Min(text.Length, i + Math.Max(1, sizes[k++ % sizes.Length]));
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            yield return text[i..end];
            i = end;
        }
    }
}
