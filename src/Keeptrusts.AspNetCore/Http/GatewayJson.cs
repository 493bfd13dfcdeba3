using System.Text.Json;
using System.Text.Json.Serialization;
using Keeptrusts.Policy.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.AspNetCore.Http;

/// <summary>JSON answers of the runtime API: snake_case keys and enum values, like the configuration itself.</summary>
internal static class GatewayJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static async Task WriteAsync(HttpContext http, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }

    public static void WriteDiagnostics(Utf8JsonWriter writer, string name, IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        writer.WriteStartArray(name);
        foreach (var d in diagnostics)
        {
            writer.WriteStartObject();
            writer.WriteString("code", d.Code);
            writer.WriteString("severity", d.Severity == DiagnosticSeverity.Error ? "error" : "warning");
            writer.WriteString("message", d.Message);
            writer.WriteString("file", d.Location.File);
            writer.WriteNumber("line", d.Location.Line);
            writer.WriteNumber("column", d.Location.Column);
            writer.WriteString("path", d.Path);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
