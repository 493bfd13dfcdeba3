using System.Buffers;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Echo;

/// <summary>
/// Answers with the text of the last user message of the request it receives (after input policies), without any
/// network. Usage is estimated at one token per four characters, at least one. For trying configurations and policies.
/// </summary>
internal sealed class EchoProviderClient(TimeProvider time) : IProviderClient
{
    public ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        string answer;
        int promptChars;
        try
        {
            (answer, promptChars) = Read(request.Body);
        }
        catch (JsonException)
        {
            return ValueTask.FromResult(OpenAIErrorJson.Response(400, "the request body is not a valid JSON object", "invalid_request_error", "invalid_request_body"));
        }

        var completion = Write(answer, promptChars, request.Model);
        if (!request.Stream)
        {
            return ValueTask.FromResult(new ProviderResponse(200, completion));
        }

        var chunks = CompletionChunker.Chunk(completion, ChatRequestFlags.Read(request.Body.Span).IncludeUsage, request.Model, time);
        return ValueTask.FromResult(new ProviderResponse(200, ReadOnlyMemory<byte>.Empty, ChunkSequence.From(chunks)));
    }

    public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    internal static int EstimateTokens(int chars) => Math.Max(1, (chars + 3) / 4);

    private static (string Answer, int PromptChars) Read(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("not an object");
        }

        var answer = string.Empty;
        var promptChars = 0;
        if (document.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                var text = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content) ? TextOf(content) : string.Empty;
                promptChars += text.Length;
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var role) && role.ValueEquals("user"u8))
                {
                    answer = text;
                }
            }
        }

        return (answer, promptChars);
    }

    private static string TextOf(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? string.Empty;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueEquals("text"u8)
                && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                if (builder.Length > 0)
                {
                    builder.Append('\n');
                }

                builder.Append(text.GetString());
            }
        }

        return builder.ToString();
    }

    private byte[] Write(string answer, int promptChars, string model)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + answer.Length);
        using (var w = new Utf8JsonWriter(buffer, OpenAIErrorJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", ResponseIds.NewCompletionId());
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", time.GetUtcNow().ToUnixTimeSeconds());
            w.WriteString("model", model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", answer);
            w.WriteNull("refusal");
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", "stop");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WritePropertyName("usage");
            UsageJson.Write(w, EstimateTokens(promptChars), EstimateTokens(answer.Length));
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
