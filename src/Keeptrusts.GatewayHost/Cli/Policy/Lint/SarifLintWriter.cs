using System.Buffers;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Policy.Lint;

/// <summary>
/// SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDE viewers): one run whose driver lists every rule the
/// loader can report, and one result per finding with a physical location relative to <c>%SRCROOT%</c> (the
/// working directory) and the document path as a logical location.
/// </summary>
internal sealed class SarifLintWriter : ILintWriter
{
    public const string SchemaUri = "https://json.schemastore.org/sarif-2.1.0.json";
    public const string SarifVersion = "2.1.0";
    public const string SourceRootBaseId = "%SRCROOT%";
    public const string InformationUri = "https://keeptrusts.com";

    public void Write(LintReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var rules = LintRuleCatalog.Rules;
        var ruleIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            ruleIndex[rules[i].Code] = i;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonLintWriter.Options))
        {
            json.WriteStartObject();
            json.WriteString("$schema", SchemaUri);
            json.WriteString("version", SarifVersion);
            json.WriteStartArray("runs");
            json.WriteStartObject();
            WriteTool(json, rules);
            json.WriteStartObject("originalUriBaseIds");
            json.WriteStartObject(SourceRootBaseId);
            json.WriteString("uri", DirectoryUri(report.WorkingDirectory));
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartArray("results");
            foreach (var diagnostic in report.Diagnostics)
            {
                WriteResult(json, diagnostic, ruleIndex, report.WorkingDirectory);
            }

            json.WriteEndArray();
            json.WriteString("columnKind", "utf16CodeUnits");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>
    /// The artifact URI of a file: relative to the working directory with forward slashes when the file is inside
    /// it (so code scanning can match it to the repository), otherwise an absolute <c>file:</c> URI.
    /// </summary>
    internal static (string Uri, bool IsRelative) ArtifactUri(string file, string workingDirectory)
    {
        var full = Path.GetFullPath(file, workingDirectory);
        var relative = Path.GetRelativePath(workingDirectory, full);
        var outside = Path.IsPathRooted(relative) || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (outside)
        {
            return (new Uri(full).AbsoluteUri, false);
        }

        var segments = relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        return (string.Join('/', segments.Select(Uri.EscapeDataString)), true);
    }

    private static string DirectoryUri(string directory)
    {
        var withSeparator = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return new Uri(withSeparator).AbsoluteUri;
    }

    private static void WriteTool(Utf8JsonWriter json, IReadOnlyList<LintRule> rules)
    {
        json.WriteStartObject("tool");
        json.WriteStartObject("driver");
        json.WriteString("name", "kt");
        json.WriteString("informationUri", InformationUri);
        json.WriteString("semanticVersion", KtVersion.Informational);
        json.WriteStartArray("rules");
        foreach (var rule in rules)
        {
            json.WriteStartObject();
            json.WriteString("id", rule.Code);
            json.WriteStartObject("shortDescription");
            json.WriteString("text", rule.Title);
            json.WriteEndObject();
            json.WriteStartObject("defaultConfiguration");
            json.WriteString("level", SeverityNames.Of(rule.DefaultSeverity));
            json.WriteEndObject();
            json.WriteString("helpUri", rule.HelpUri.AbsoluteUri);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteResult(Utf8JsonWriter json, ConfigDiagnostic diagnostic, Dictionary<string, int> ruleIndex, string workingDirectory)
    {
        json.WriteStartObject();
        json.WriteString("ruleId", diagnostic.Code);
        if (ruleIndex.TryGetValue(diagnostic.Code, out var index))
        {
            json.WriteNumber("ruleIndex", index);
        }

        json.WriteString("level", SeverityNames.Of(diagnostic.Severity));
        json.WriteStartObject("message");
        json.WriteString("text", diagnostic.Message);
        json.WriteEndObject();

        json.WriteStartArray("locations");
        json.WriteStartObject();
        json.WriteStartObject("physicalLocation");
        json.WriteStartObject("artifactLocation");
        var (uri, isRelative) = ArtifactUri(diagnostic.Location.File, workingDirectory);
        json.WriteString("uri", uri);
        if (isRelative)
        {
            json.WriteString("uriBaseId", SourceRootBaseId);
        }

        json.WriteEndObject();
        if (diagnostic.Location.Line > 0)
        {
            json.WriteStartObject("region");
            json.WriteNumber("startLine", diagnostic.Location.Line);
            if (diagnostic.Location.Column > 0)
            {
                json.WriteNumber("startColumn", diagnostic.Location.Column);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        if (diagnostic.Path.Length > 0)
        {
            json.WriteStartArray("logicalLocations");
            json.WriteStartObject();
            json.WriteString("fullyQualifiedName", diagnostic.Path);
            json.WriteEndObject();
            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
