using System.Buffers;
using System.Text.Json;

namespace Keeptrusts.Policy.Routing;

/// <summary>The OpenAI error JSON bodies the router writes itself, with their status codes and error codes.</summary>
internal static class RouterErrors
{
    public const string NoHealthyTarget = "no_healthy_target";
    public const string QueueFull = "router_queue_full";
    public const string UpstreamError = "upstream_error";
    public const string UpstreamTimeout = "upstream_timeout";
    public const string UpstreamRateLimited = "upstream_rate_limited";
    public const string InvalidRoute = "invalid_route";

    /// <summary>The longest caller-supplied value quoted in a message (model names, header values).</summary>
    public const int MaxQuotedLength = 100;

    public static ProviderResponse Response(int status, string type, string code, string message, TimeSpan? retryAfter = null) =>
        new(status, Body(type, code, message), retryAfter: retryAfter);

    public static byte[] Body(string type, string code, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", type);
            json.WriteNull("param");
            json.WriteString("code", code);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A caller-supplied value, bounded, for a message.</summary>
    public static string Quote(string value) => value.Length <= MaxQuotedLength ? value : value[..MaxQuotedLength] + "…";

    /// <summary>Whole seconds, rounded up, at least one: what a <c>Retry-After</c> header can say.</summary>
    public static TimeSpan RetryAfterSeconds(TimeSpan wait) =>
        TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds)));
}
