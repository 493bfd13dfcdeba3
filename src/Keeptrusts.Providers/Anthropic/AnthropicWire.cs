using System.Text.Json;
using Keeptrusts.Providers.Json;

namespace Keeptrusts.Providers.Anthropic;

/// <summary>Anthropic's vocabulary mapped to OpenAI's: stop reasons, error types and their statuses.</summary>
internal static class AnthropicWire
{
    public const string ApiVersion = "2023-06-01";

    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    /// <summary>The status an Anthropic error type is sent with (used for errors that arrive inside a stream).</summary>
    public static int StatusFor(string? errorType) => errorType switch
    {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    };

    /// <summary>
    /// OpenAI error JSON for an Anthropic error body (<c>{"type":"error","error":{"type","message"}}</c>): the message,
    /// the OpenAI type for the status, and Anthropic's error type as the code. Other bodies are left to the caller.
    /// </summary>
    public static byte[]? TranslateError(int statusCode, ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                var type = error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                return OpenAIErrorJson.Create(message.GetString()!, OpenAIErrorJson.TypeForStatus(statusCode), type);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the caller wraps it.
        }

        return null;
    }
}
