using System.Text.Json;
using static Keeptrusts.Policy.Exchange.JsonTokens;

namespace Keeptrusts.Policy.Exchange;

/// <summary>
/// Builds a <see cref="ChatView"/> from Anthropic Messages JSON (requests and non-streamed responses) in one forward
/// pass, with the byte range of every text, so the same splice rewrite as for OpenAI bodies redacts exactly the strings
/// it targets. Texts are labelled in the OpenAI vocabulary so policies read both formats alike: the top-level
/// <c>system</c> prompt is message 0 with role <c>system</c> (the messages follow from index 1), <c>tool_result</c>
/// blocks are role <c>tool</c>, kind <see cref="TextKind.ToolResult"/>, and each string value inside a
/// <c>tool_use</c> block's <c>input</c> object is a <see cref="TextKind.ToolCallArguments"/> text (values, not keys,
/// so a redaction always leaves a valid object).
/// </summary>
internal static class AnthropicMessagesReader
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = OpenAIChatReader.MaxDepth, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>
    /// Reads a request body: <c>model</c>, <c>system</c>, <c>messages[]</c>, <c>stream</c>, <c>max_tokens</c> and
    /// <c>metadata.user_id</c>.
    /// </summary>
    /// <exception cref="JsonException">The body is not JSON, or not an object, or <c>messages</c> is not an array.</exception>
    public static ChatView ReadRequest(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        var system = new List<ChatText>();
        var messages = new List<ChatText>();
        string? model = null, user = null;
        long? maxTokens = null;
        var stream = false;
        var messageCount = 0;
        Expect(ref reader, JsonTokenType.StartObject, "the request body must be a JSON object");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                model = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("max_tokens"u8))
            {
                Next(ref reader);
                maxTokens = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0 ? value : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                Next(ref reader);
                stream = reader.TokenType == JsonTokenType.True;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("metadata"u8))
            {
                user = ReadUserId(ref reader) ?? user;
            }
            else if (reader.ValueTextEquals("system"u8))
            {
                Next(ref reader);
                ReadBlocks(ref reader, "system", 0, system);
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new JsonException("'messages' must be an array");
                }

                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    ReadMessage(ref reader, messageCount++, messages);
                }
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        EnsureEnd(ref reader);

        // The system prompt is message 0, as in an OpenAI body; the messages follow it.
        var texts = new List<ChatText>(system.Count + messages.Count);
        texts.AddRange(system);
        var shift = system.Count > 0 ? 1 : 0;
        foreach (var text in messages)
        {
            texts.Add(text with { MessageIndex = text.MessageIndex + shift });
        }

        return new ChatView(body, model, texts, stream, user, maxOutputTokens: maxTokens);
    }

    /// <summary>Reads a non-streamed response body: <c>model</c>, the <c>content</c> blocks and <c>usage</c>.</summary>
    /// <exception cref="JsonException">The body is not JSON, or not an object.</exception>
    public static ChatView ReadResponse(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        var texts = new List<ChatText>();
        string? model = null;
        Evaluation.TokenUsage? usage = null;
        Expect(ref reader, JsonTokenType.StartObject, "the response body must be a JSON object");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                model = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                Next(ref reader);
                ReadBlocks(ref reader, "assistant", 0, texts);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                Next(ref reader);
                usage = ReadUsage(ref reader);
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        EnsureEnd(ref reader);
        return new ChatView(body, model, texts, usage: usage);
    }

    /// <summary>
    /// Reads an Anthropic <c>usage</c> object: input tokens include those read from or written to the prompt cache,
    /// as OpenAI's <c>prompt_tokens</c> do. Null when absent or not an object.
    /// </summary>
    internal static Evaluation.TokenUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        long input = 0, output = 0, cacheRead = 0, cacheWrite = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("input_tokens"u8))
            {
                input = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("output_tokens"u8))
            {
                output = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("cache_read_input_tokens"u8))
            {
                cacheRead = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("cache_creation_input_tokens"u8))
            {
                cacheWrite = ReadCount(ref reader);
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        return new Evaluation.TokenUsage(input + cacheRead + cacheWrite, output, cacheRead);
    }

    private static void ReadMessage(ref Utf8JsonReader reader, int index, List<ChatText> texts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("each item of 'messages' must be an object");
        }

        // The role may come after the content: texts are collected first and labelled at the end.
        var first = texts.Count;
        var role = "user";
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                role = ReadOptionalString(ref reader) ?? role;
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                Next(ref reader);
                ReadBlocks(ref reader, null, index, texts);
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        for (var i = first; i < texts.Count; i++)
        {
            if (texts[i].Kind != TextKind.ToolResult)
            {
                texts[i] = texts[i] with { Role = role };
            }
        }
    }

    /// <summary>Reads a content value: a plain string, or an array of blocks. <paramref name="role"/> null means "label later".</summary>
    private static void ReadBlocks(ref Utf8JsonReader reader, string? role, int index, List<ChatText> texts)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                texts.Add(StringText(ref reader, role ?? "user", TextKind.Content, index));
                break;
            case JsonTokenType.StartArray:
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    ReadBlock(ref reader, role ?? "user", index, texts);
                }

                break;
            default:
                reader.Skip();
                break;
        }
    }

    /// <summary>
    /// Reads one content block. Its <c>type</c> may come after its fields, so candidate texts are collected per field
    /// and kept according to the type at the end: <c>text</c> keeps <c>text</c>, <c>tool_use</c> keeps the strings
    /// inside <c>input</c>, <c>tool_result</c> keeps <c>content</c>; images, documents and thinking keep nothing.
    /// </summary>
    private static void ReadBlock(ref Utf8JsonReader reader, string role, int index, List<ChatText> texts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        string? type = null;
        List<ChatText>? text = null, input = null, content = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                type = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.String)
                {
                    (text ??= []).Add(StringText(ref reader, role, TextKind.Content, index));
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("input"u8))
            {
                Next(ref reader);
                ReadStringLeaves(ref reader, role, index, input ??= []);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                Next(ref reader);
                content ??= [];
                if (reader.TokenType == JsonTokenType.String)
                {
                    content.Add(StringText(ref reader, "tool", TextKind.ToolResult, index));
                }
                else if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var nested = new List<ChatText>();
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        ReadBlock(ref reader, "tool", index, nested);
                    }

                    foreach (var item in nested)
                    {
                        content.Add(item with { Role = "tool", Kind = TextKind.ToolResult });
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        var kept = type switch
        {
            "text" => text,
            "tool_use" or "server_tool_use" => input,
            "tool_result" => content,
            _ => null,
        };
        if (kept is not null)
        {
            texts.AddRange(kept);
        }
    }

    private static void ReadStringLeaves(ref Utf8JsonReader reader, string role, int index, List<ChatText> texts)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            texts.Add(StringText(ref reader, role, TextKind.ToolCallArguments, index));
            return;
        }

        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }

        var depth = reader.CurrentDepth;
        while (Next(ref reader) is var token && !(reader.CurrentDepth == depth && token is JsonTokenType.EndObject or JsonTokenType.EndArray))
        {
            if (token == JsonTokenType.String)
            {
                texts.Add(StringText(ref reader, role, TextKind.ToolCallArguments, index));
            }
        }
    }

    private static string? ReadUserId(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        string? user = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("user_id"u8))
            {
                user = ReadOptionalString(ref reader);
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        return user;
    }

    private static ChatText StringText(ref Utf8JsonReader reader, string role, TextKind kind, int index)
    {
        var start = (int)reader.TokenStartIndex;
        var length = reader.ValueSpan.Length + 2;
        return new ChatText(role, kind, index, reader.GetString()!, start, length);
    }
}
