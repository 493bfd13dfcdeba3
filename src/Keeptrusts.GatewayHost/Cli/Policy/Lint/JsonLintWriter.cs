using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.Cli.Policy.Lint;

/// <summary>
/// One JSON array of findings for scripts: <c>code</c>, <c>severity</c>, <c>message</c>, <c>file</c>, <c>line</c>,
/// <c>column</c>, <c>path</c>, always in that order. <c>line</c> and <c>column</c> are null for findings about a
/// whole file; <c>path</c> is empty for findings about the whole document.
/// </summary>
internal sealed class JsonLintWriter : ILintWriter
{
    // The output is read by programs and people, never embedded in HTML, so quotes and non-ASCII text stay readable.
    internal static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public void Write(LintReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartArray();
            foreach (var d in report.Diagnostics)
            {
                json.WriteStartObject();
                json.WriteString("code", d.Code);
                json.WriteString("severity", SeverityNames.Of(d.Severity));
                json.WriteString("message", d.Message);
                json.WriteString("file", d.Location.File);
                WritePosition(json, "line", d.Location.Line);
                WritePosition(json, "column", d.Location.Column);
                json.WriteString("path", d.Path);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WritePosition(Utf8JsonWriter json, string name, int value)
    {
        if (value > 0)
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
