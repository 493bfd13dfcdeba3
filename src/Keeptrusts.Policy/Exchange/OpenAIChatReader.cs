using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using static Keeptrusts.Policy.Exchange.JsonTokens;

namespace Keeptrusts.Policy.Exchange;

/// <summary>
/// Builds a <see cref="ChatView"/> from OpenAI chat-completions JSON (requests and responses) in one forward pass,
/// remembering the byte range of every text so that <see cref="Rewrite"/> can splice redacted strings into the
/// original body and leave every other byte as it was.
/// </summary>
internal static class OpenAIChatReader
{
    /// <summary>Depth limit for request bodies; the OpenAI shape needs about 8.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow };
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>
    /// Reads a request body: <c>model</c>, <c>messages[]</c> (content strings and text parts, tool calls), <c>stream</c>,
    /// <c>user</c>, and the output cap (<c>max_completion_tokens</c>, else <c>max_tokens</c>).
    /// </summary>
    /// <exception cref="JsonException">The body is not JSON, or not an object.</exception>
    public static ChatView ReadRequest(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        var texts = new List<ChatText>();
        string? model = null;
        string? user = null;
        long? maxCompletionTokens = null, maxTokens = null;
        var stream = false;
        Expect(ref reader, JsonTokenType.StartObject, "the request body must be a JSON object");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                model = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("user"u8))
            {
                user = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("max_completion_tokens"u8))
            {
                maxCompletionTokens = ReadOptionalCount(ref reader);
            }
            else if (reader.ValueTextEquals("max_tokens"u8))
            {
                maxTokens = ReadOptionalCount(ref reader);
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                Next(ref reader);
                stream = reader.TokenType == JsonTokenType.True;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new JsonException("'messages' must be an array");
                }

                var index = 0;
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    ReadMessage(ref reader, index++, texts, "messages");
                }
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        EnsureEnd(ref reader);
        // OpenAI deprecated max_tokens in favour of max_completion_tokens; when both are sent the newer one governs.
        return new ChatView(body, model, texts, stream, user, maxOutputTokens: maxCompletionTokens ?? maxTokens);
    }

    /// <summary>Reads a non-streamed response body: <c>model</c> and each <c>choices[].message</c>.</summary>
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
            else if (reader.ValueTextEquals("choices"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                var index = 0;
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    ReadChoice(ref reader, index++, texts);
                }
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
    /// Writes the body with the given texts replaced. Each replacement names a text of the view by index; the string
    /// token is re-encoded and every other byte is copied as it was.
    /// </summary>
    public static byte[] Rewrite(ChatView view, IReadOnlyList<(int TextIndex, string NewText)> replacements)
    {
        var body = view.Body.Span;
        var ordered = replacements
            .Where(r => view.Texts[r.TextIndex].TokenStart >= 0)
            .OrderBy(r => view.Texts[r.TextIndex].TokenStart)
            .ToList();
        var output = new ArrayBufferWriter<byte>(body.Length + 64);
        var copied = 0;
        foreach (var (textIndex, newText) in ordered)
        {
            var text = view.Texts[textIndex];
            output.Write(body[copied..text.TokenStart]);
            WriteJsonString(output, newText);
            copied = text.TokenStart + text.TokenLength;
        }

        output.Write(body[copied..]);
        return output.WrittenSpan.ToArray();
    }

    internal static void WriteJsonString(IBufferWriter<byte> output, string value)
    {
        var encoded = JsonEncodedText.Encode(value, Encoder);
        var span = output.GetSpan(encoded.EncodedUtf8Bytes.Length + 2);
        span[0] = (byte)'"';
        encoded.EncodedUtf8Bytes.CopyTo(span[1..]);
        span[encoded.EncodedUtf8Bytes.Length + 1] = (byte)'"';
        output.Advance(encoded.EncodedUtf8Bytes.Length + 2);
    }

    private static void ReadMessage(ref Utf8JsonReader reader, int index, List<ChatText> texts, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"each item of '{what}' must be an object");
        }

        // The role may come after the content, so texts are collected first and labelled at the end.
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
                ReadContent(ref reader, index, texts);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                Next(ref reader);
                ReadToolCalls(ref reader, index, texts);
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                AddStringOrSkip(ref reader, TextKind.Content, index, texts);
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        for (var i = first; i < texts.Count; i++)
        {
            var kind = texts[i].Kind == TextKind.Content && role == "tool" ? TextKind.ToolResult : texts[i].Kind;
            texts[i] = texts[i] with { Role = role, Kind = kind };
        }
    }

    private static void ReadChoice(ref Utf8JsonReader reader, int index, List<ChatText> texts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message"u8))
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadMessage(ref reader, index, texts, "choices[].message");
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
    }

    private static void ReadContent(ref Utf8JsonReader reader, int index, List<ChatText> texts)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                texts.Add(StringText(ref reader, TextKind.Content, index));
                break;
            case JsonTokenType.StartArray:
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        // Text parts carry "text"; refusal parts carry "refusal". Images, audio and files are left alone.
                        if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("refusal"u8))
                        {
                            AddStringOrSkip(ref reader, TextKind.Content, index, texts);
                        }
                        else
                        {
                            SkipPropertyValue(ref reader);
                        }
                    }
                }

                break;
            default:
                reader.Skip();
                break;
        }
    }

    private static void ReadToolCalls(ref Utf8JsonReader reader, int index, List<ChatText> texts)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }

        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("function"u8))
                {
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("arguments"u8))
                        {
                            AddStringOrSkip(ref reader, TextKind.ToolCallArguments, index, texts);
                        }
                        else
                        {
                            SkipPropertyValue(ref reader);
                        }
                    }
                }
                else
                {
                    SkipPropertyValue(ref reader);
                }
            }
        }
    }

    /// <summary>Reads an OpenAI <c>usage</c> object; null when it is absent or not an object.</summary>
    internal static Evaluation.TokenUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        long prompt = 0, completion = 0, cached = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                prompt = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                completion = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (Next(ref reader) == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("cached_tokens"u8))
                    {
                        cached = ReadCount(ref reader);
                    }
                    else
                    {
                        SkipPropertyValue(ref reader);
                    }
                }
            }
            else
            {
                SkipPropertyValue(ref reader);
            }
        }

        return new Evaluation.TokenUsage(prompt, completion, cached);
    }

    /// <summary>A non-negative whole number, or null for anything else (null, a fraction, a string): an unusable cap is no cap.</summary>
    private static long? ReadOptionalCount(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0)
        {
            return value;
        }

        reader.Skip();
        return null;
    }

    private static void AddStringOrSkip(ref Utf8JsonReader reader, TextKind kind, int index, List<ChatText> texts)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.String)
        {
            texts.Add(StringText(ref reader, kind, index));
        }
        else
        {
            reader.Skip();
        }
    }

    private static ChatText StringText(ref Utf8JsonReader reader, TextKind kind, int index)
    {
        var start = (int)reader.TokenStartIndex;
        var length = reader.ValueSpan.Length + 2;
        return new ChatText("user", kind, index, reader.GetString()!, start, length);
    }
}
