using System.Buffers;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler;

/// <summary>
/// Error bodies in Anthropic's shape, <c>{"type":"error","error":{"type","message"}}</c>, which Anthropic SDKs turn into
/// their usual API errors. Blocks add <c>policy</c> and <c>decision_id</c> inside <c>error</c>, as the OpenAI shape does.
/// </summary>
internal static class AnthropicErrors
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string TypeFor(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        >= 500 => "api_error",
        _ => "invalid_request_error",
    };

    public static (int Status, byte[] Body) ForDecision(DecisionRecord record)
    {
        var status = record.Status ?? 400;
        var message = record.BlockedBy is { } policy
            ? $"Blocked by policy '{policy}': {record.Reason ?? "the content is not allowed"}"
            : record.Reason ?? "Blocked by policy.";
        return (status, Create(message, TypeFor(status), record.BlockedBy, record.Id));
    }

    public static byte[] Create(string message, string type, string? policy = null, string? decisionId = null)
    {
        var buffer = new ArrayBufferWriter<byte>(96 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "error"u8);
            writer.WriteStartObject("error"u8);
            writer.WriteString("type"u8, type);
            writer.WriteString("message"u8, message);
            if (policy is not null)
            {
                writer.WriteString("policy"u8, policy);
            }

            if (!string.IsNullOrEmpty(decisionId))
            {
                writer.WriteString("decision_id"u8, decisionId);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
