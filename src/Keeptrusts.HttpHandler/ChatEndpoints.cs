using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler;

/// <summary>Which requests the handler governs.</summary>
internal static class ChatEndpoints
{
    /// <summary>
    /// The wire format of a chat request, or null for anything else: POST to a path ending in <c>/chat/completions</c>
    /// (OpenAI and compatible APIs, Azure deployments included) or in <c>/v1/messages</c> (Anthropic), with a body.
    /// </summary>
    public static ChatWireFormat? Recognize(HttpRequestMessage request)
    {
        if (request.Method != HttpMethod.Post || request.Content is null || request.RequestUri is not { } uri)
        {
            return null;
        }

        var path = uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString.Split('?', 2)[0];
        path = path.TrimEnd('/');
        if (path.EndsWith("/chat/completions", StringComparison.OrdinalIgnoreCase))
        {
            return ChatWireFormat.OpenAIChat;
        }

        return path.EndsWith("/v1/messages", StringComparison.OrdinalIgnoreCase) ? ChatWireFormat.AnthropicMessages : null;
    }

    /// <summary>Whether a request body asks for a streamed answer (<c>"stream": true</c> at the top level).</summary>
    public static bool AsksForStream(ReadOnlySpan<byte> body)
    {
        if (body.IndexOf("\"stream\""u8) < 0)
        {
            return false;
        }

        var reader = new System.Text.Json.Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var isStream = reader.ValueTextEquals("stream"u8);
                reader.Read();
                if (isStream)
                {
                    return reader.TokenType == System.Text.Json.JsonTokenType.True;
                }

                reader.Skip();
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // The body was already accepted by the policy reader; anything odd here means "not a stream".
        }

        return false;
    }
}
