using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Keeptrusts.Policy.Linting;

/// <summary>
/// Validates a merged document against the published <c>policy-config.schema.json</c> (embedded in this assembly),
/// the same schema editors use. The binder runs first and the semantic rules run after, so a schema finding is
/// dropped when either already covers it: the binder at the same path or an ancestor (unknown keys, wrong types,
/// missing required keys, bad enum values), a rule where the schema marks the value with
/// <see cref="LintCodeKeyword"/>. What remains is what only the schema knows, such as ranges, patterns and the
/// keys of built-in policy settings, which the binder leaves to each policy.
/// </summary>
internal static partial class SchemaValidator
{
    public static void Validate(ConfigMapping root, List<ConfigDiagnostic> diagnostics)
    {
        var json = ToJson(root, omitNulls: true);
        var reported = new HashSet<string>(diagnostics.Select(static d => d.Path), StringComparer.Ordinal);
        foreach (var error in Flatten(Schema.Value.Validate(json)))
        {
            var segments = ParsePath(error);
            var path = ToConfigPath(segments);
            if (reported.Contains(path) || HasReportedAncestor(reported, path) || IsCoveredElsewhere(error, segments, root, path))
            {
                continue;
            }

            reported.Add(path);
            diagnostics.Add(error.Kind == ValidationErrorKind.NoAdditionalPropertiesAllowed
                ? UnknownKey(error, root, path)
                : new ConfigDiagnostic(DiagnosticCodes.SchemaViolation, DiagnosticSeverity.Error, Describe(error, path, ConfigPath.Find(root, path)), Locate(root, path).Location, path));
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

    private static bool IsCoveredElsewhere(ValidationError error, List<object> segments, ConfigMapping root, string path)
    {
        if (error.Kind == ValidationErrorKind.PropertyRequired)
        {
            return false;
        }

        var node = ConfigPath.Find(root, path);
        return error.Kind switch
        {
            // The binder reads any YAML scalar as a string (1.0 becomes "1.0"); rules then judge the text.
            ValidationErrorKind.StringExpected when node is ConfigScalar { IsNull: false } => true,

            // The binder matches enum names ignoring case; the schema lists the canonical spelling for editors.
            ValidationErrorKind.NotInEnumeration when node is ConfigScalar { Value: { } text } && error.Schema?.Enumeration is { } allowed
                && allowed.Any(a => a is string s && string.Equals(s, text, StringComparison.OrdinalIgnoreCase)) => true,
            _ => SchemaAt(segments) is { } schema && HasLintCode(schema),
        };
    }

    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors)
        {
            if (error is not ChildSchemaValidationError child || child.Errors.Count == 0)
            {
                yield return error;
                continue;
            }

            switch (error.Kind)
            {
                // Containers: every failing item or value is its own finding.
                case ValidationErrorKind.ArrayItemNotValid or ValidationErrorKind.AdditionalItemNotValid or ValidationErrorKind.AdditionalPropertiesNotValid:
                    foreach (var inner in Flatten(child.Errors.Values.SelectMany(static e => e)))
                    {
                        yield return inner;
                    }

                    break;

                // "Exactly one of these keys" is clearer said once at the object than as a missing key in a branch;
                // so is a value that matches several branches, whose branch error lists are all empty.
                case ValidationErrorKind.NotOneOf when IsKeyChoice(error.Schema) || child.Errors.Values.Count(static e => e.Count == 0) > 1:
                    yield return error;
                    break;
                default:
                    // For other unions, the branch with the fewest errors is the one the author most likely meant.
                    foreach (var inner in Flatten(child.Errors.Values.OrderBy(static e => e.Count).First()))
                    {
                        yield return inner;
                    }

                    break;
            }
        }
    }

    private static bool IsKeyChoice(JsonSchema? schema) =>
        schema is not null && schema.OneOf.Count > 1 && schema.OneOf.All(static b => b.RequiredProperties.Count > 0 && b.Properties.Count == 0);

    /// <summary>
    /// The document as the schema sees it: mapping entries whose value is null are left out, because the binder
    /// treats <c>key: ~</c> as a key that is not there.
    /// </summary>
    public static string ToJson(ConfigNode node, bool omitNulls)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            ConfigNodeJson.Write(writer, node, omitNulls);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
