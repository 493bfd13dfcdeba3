using System.Text.Encodings.Web;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Providers.Json;

/// <summary>Writes and recognises OpenAI error JSON: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIErrorJson
{
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The error body; the shape and the writer are shared with the rest of the product (<see cref="OpenAIErrors"/>).</summary>
    public static byte[] Create(string message, string type, string? code, string? param = null) => OpenAIErrors.Create(message, type, code, param);

    public static ProviderResponse Response(int status, string message, string type, string? code, TimeSpan? retryAfter = null)
        => new(status, Create(message, type, code), retryAfter: retryAfter);

    /// <summary>The OpenAI error type for an HTTP status, as everywhere else in the product.</summary>
    public static string TypeForStatus(int status) => OpenAIErrors.TypeFor(status);

    /// <summary>Whether <paramref name="body"/> is a JSON object whose <c>error</c> member is an object with a string <c>message</c>.</summary>
    public static bool IsErrorEnvelope(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var found = false;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    var isError = reader.ValueTextEquals("error"u8);
                    reader.Read();
                    if (isError && reader.TokenType == JsonTokenType.StartObject)
                    {
                        found |= HasStringMessage(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }

            return found;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool HasStringMessage(ref Utf8JsonReader reader)
    {
        var found = false;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1)
            {
                var isMessage = reader.ValueTextEquals("message"u8);
                reader.Read();
                found |= isMessage && reader.TokenType == JsonTokenType.String;
                reader.Skip();
            }
        }

        return found;
    }
}
