using System.Text.Encodings.Web;
using System.Text.Json;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Providers.Json;

/// <summary>Writes and recognises OpenAI error JSON: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIErrorJson
{
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Create(string message, string type, string? code, string? param = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            writer.WriteString("type", type);
            WriteNullable(writer, "param", param);
            WriteNullable(writer, "code", code);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static ProviderResponse Response(int status, string message, string type, string? code, TimeSpan? retryAfter = null)
        => new(status, Create(message, type, code), retryAfter: retryAfter);

    /// <summary>The OpenAI error type that best describes an HTTP status.</summary>
    public static string TypeForStatus(int status) => status switch
    {
        400 or 404 or 409 or 413 or 415 or 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        501 => "not_implemented_error",
        >= 500 => "server_error",
        _ => "upstream_error",
    };

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

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
