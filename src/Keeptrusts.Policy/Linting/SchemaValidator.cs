using System.Globalization;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Keeptrusts.Policy.Linting;

/// <summary>
/// Validates a merged document against the published <c>policy-config.schema.json</c> (embedded in this assembly),
/// the same schema editors use. Findings the binder already reports more precisely (unknown keys, wrong types,
/// missing required keys at the same path) are not repeated.
/// </summary>
internal static class SchemaValidator
{
    public const string ResourceName = "Keeptrusts.Policy.policy-config.schema.json";

    private static readonly Lazy<JsonSchema> Schema = new(LoadSchema, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string SchemaText { get; } = ReadResource();

    public static void Validate(ConfigMapping root, List<ConfigDiagnostic> diagnostics)
    {
        var json = ToJson(root);
        var reported = new HashSet<string>(diagnostics.Select(static d => d.Path), StringComparer.Ordinal);
        foreach (var error in Flatten(Schema.Value.Validate(json)))
        {
            if (error.Kind is ValidationErrorKind.NoAdditionalPropertiesAllowed)
            {
                continue;
            }

            var path = ToConfigPath(error);
            if (reported.Contains(path) || HasReportedAncestor(reported, path))
            {
                continue;
            }

            reported.Add(path);
            var node = ConfigPath.Find(root, path) ?? root;
            diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.SchemaViolation, DiagnosticSeverity.Error, Describe(error, path), node.Location, path));
        }
    }

    private static bool HasReportedAncestor(HashSet<string> reported, string path)
    {
        for (var cut = path.Length - 1; cut > 0; cut--)
        {
            if ((path[cut] == '.' || path[cut] == '[') && reported.Contains(path[..cut]))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors)
        {
            if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
            {
                // For oneOf/anyOf, the branch with the fewest errors is the one the author most likely meant.
                var best = child.Errors.Values.OrderBy(static e => e.Count).First();
                foreach (var inner in Flatten(best))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return error;
            }
        }
    }

    private static string ToConfigPath(ValidationError error)
    {
        // NJsonSchema paths look like "#/providers.targets[1].provider"; required-property errors name the missing
        // property separately.
        var path = error.Path ?? string.Empty;
        if (path.StartsWith("#/", StringComparison.Ordinal))
        {
            path = path[2..];
        }
        else if (path == "#")
        {
            path = string.Empty;
        }

        if (error.Kind == ValidationErrorKind.PropertyRequired && error.Property is { } property && !path.EndsWith(property, StringComparison.Ordinal))
        {
            path = ConfigPath.Child(path, property);
        }

        return path;
    }

    private static string Describe(ValidationError error, string path)
    {
        var where = path.Length == 0 ? "the document" : $"'{path}'";
        return error.Kind switch
        {
            ValidationErrorKind.PropertyRequired => $"{where} is required",
            ValidationErrorKind.NotInEnumeration => $"{where} has a value that is not allowed",
            ValidationErrorKind.NumberTooSmall => $"{where} is below the allowed minimum",
            ValidationErrorKind.NumberTooBig => $"{where} is above the allowed maximum",
            ValidationErrorKind.PatternMismatch => $"{where} does not have the expected format",
            ValidationErrorKind.StringTooShort => $"{where} is too short",
            ValidationErrorKind.StringTooLong => $"{where} is too long",
            ValidationErrorKind.TooFewItems => $"{where} has too few items",
            ValidationErrorKind.TooManyItems => $"{where} has too many items",
            ValidationErrorKind.ItemsNotUnique => $"{where} has duplicate items",
            _ => $"{where} does not match the policy-config schema ({SplitWords(error.Kind.ToString())})",
        };
    }

    private static string SplitWords(string pascal)
    {
        var sb = new StringBuilder();
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }

    /// <summary>Writes a node tree as JSON, typing scalars the way YAML 1.2's core schema does.</summary>
    public static string ToJson(ConfigNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, node);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Write(Utf8JsonWriter writer, ConfigNode node)
    {
        switch (node)
        {
            case ConfigMapping map:
                writer.WriteStartObject();
                foreach (var entry in map.Entries)
                {
                    writer.WritePropertyName(entry.Key.Value!);
                    Write(writer, entry.Value);
                }

                writer.WriteEndObject();
                break;
            case ConfigSequence seq:
                writer.WriteStartArray();
                foreach (var item in seq.Items)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case ConfigScalar scalar:
                WriteScalar(writer, scalar);
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, ConfigScalar scalar)
    {
        switch (scalar.Kind)
        {
            case ScalarKind.Null:
                writer.WriteNullValue();
                break;
            case ScalarKind.Boolean:
                writer.WriteBooleanValue(scalar.Value!.Equals("true", StringComparison.OrdinalIgnoreCase));
                break;
            case ScalarKind.Integer when long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l):
                writer.WriteNumberValue(l);
                break;
            case ScalarKind.Integer or ScalarKind.Float when double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            default:
                writer.WriteStringValue(scalar.Value);
                break;
        }
    }

    private static string ReadResource()
    {
        using var stream = typeof(SchemaValidator).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded schema {ResourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static JsonSchema LoadSchema() => JsonSchema.FromJsonAsync(SchemaText).GetAwaiter().GetResult();
}
