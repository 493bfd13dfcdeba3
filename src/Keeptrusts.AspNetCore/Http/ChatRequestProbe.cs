using System.Text.Json;

namespace Keeptrusts.AspNetCore.Http;

/// <summary>
/// Reads the top-level <c>model</c> and <c>stream</c> of a chat-completions body, which routing needs before the
/// policies run. Anything it cannot read is left to the engine, which refuses invalid bodies with a recorded decision.
/// </summary>
internal static class ChatRequestProbe
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    public static bool TryRead(ReadOnlySpan<byte> body, out string? model, out bool stream)
    {
        model = null;
        stream = false;
        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                var isStream = !isModel && reader.ValueTextEquals("stream"u8);
                if (!reader.Read())
                {
                    return false;
                }

                if (isModel && reader.TokenType == JsonTokenType.String)
                {
                    model = reader.GetString();
                }
                else if (isStream)
                {
                    stream = reader.TokenType == JsonTokenType.True;
                }

                if (!reader.TrySkip())
                {
                    return false;
                }
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
