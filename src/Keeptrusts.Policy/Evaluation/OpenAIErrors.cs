using System.Buffers;
using System.Text.Json;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>
/// Error bodies in OpenAI's shape, <c>{"error":{"message","type","param","code"}}</c>, which every OpenAI SDK turns into
/// its usual API error. Blocks add <c>policy</c> and <c>decision_id</c> inside <c>error</c>; SDKs ignore fields they do
/// not know, and callers that look can tell which policy answered and find the record.
/// </summary>
public static class OpenAIErrors
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Builds an error body.</summary>
    /// <param name="message">What went wrong, for a person. Never put a credential or prompt text in it.</param>
    /// <param name="type">OpenAI's error type, such as <c>invalid_request_error</c>.</param>
    /// <param name="code">A machine-readable code, or null.</param>
    /// <param name="param">The request parameter at fault, or null.</param>
    /// <returns>The UTF-8 JSON body.</returns>
    public static byte[] Create(string message, string type, string? code = null, string? param = null) =>
        Write(message, type, code, param, policy: null, decisionId: null);

    /// <summary>The OpenAI error type that goes with an HTTP status.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <returns>The type name.</returns>
    public static string TypeFor(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "invalid_request_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>The status and body a caller gets for a blocked request or response.</summary>
    /// <param name="record">The blocking decision record.</param>
    /// <returns>The HTTP status (400 for content, 403 for the caller, 503 when a policy failed) and the body.</returns>
    public static (int Status, byte[] Body) ForDecision(DecisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var status = record.Status ?? 400;
        var message = record.BlockedBy is { } policy
            ? $"Blocked by policy '{policy}': {record.Reason ?? "the content is not allowed"}"
            : record.Reason ?? "Blocked by policy.";
        return (status, Write(message, TypeFor(status), record.Code, param: null, record.BlockedBy, record.Id));
    }

    private static byte[] Write(string message, string type, string? code, string? param, string? policy, string? decisionId)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error"u8);
            writer.WriteString("message"u8, message);
            writer.WriteString("type"u8, type);
            WriteNullable(writer, "param"u8, param);
            WriteNullable(writer, "code"u8, code);
            if (policy is not null)
            {
                writer.WriteString("policy"u8, policy);
            }

            if (decisionId is not null)
            {
                writer.WriteString("decision_id"u8, decisionId);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
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
