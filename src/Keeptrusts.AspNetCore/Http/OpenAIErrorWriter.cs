using System.Globalization;
using Keeptrusts.Policy.Evaluation;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.AspNetCore.Http;

/// <summary>Writes answers in OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIErrorWriter
{
    public static Task WriteAsync(HttpContext http, int status, string message, string? code = null, string? param = null, TimeSpan? retryAfter = null) =>
        WriteBodyAsync(http, status, OpenAIErrors.Create(message, OpenAIErrors.TypeFor(status), code, param), retryAfter);

    public static Task WriteBodyAsync(HttpContext http, int status, ReadOnlyMemory<byte> body, TimeSpan? retryAfter = null)
    {
        var response = http.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        if (retryAfter is { } wait)
        {
            response.Headers.RetryAfter = RetryAfterValue(wait);
        }

        if (status == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"keeptrusts\"";
        }

        return response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }

    /// <summary>Whole seconds, rounded up, at least one.</summary>
    public static string RetryAfterValue(TimeSpan wait) =>
        ((long)Math.Max(1, Math.Ceiling(wait.TotalSeconds))).ToString(CultureInfo.InvariantCulture);
}
