using System.Globalization;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using NJsonSchema;
using NJsonSchema.Validation;
using Newtonsoft.Json.Linq;

namespace Keeptrusts.Policy.Linting;

/// <summary>
/// Validates a merged document against the published <c>policy-config.schema.json</c> (embedded in this assembly),
/// the same schema editors use. The binder runs first and the semantic rules run after, so a schema finding is
/// dropped when either already covers it: the binder at the same path or an ancestor (unknown keys, wrong types,
/// missing required keys, bad enum values), a rule where the schema marks the value with
/// <see cref="LintCodeKeyword"/>. What remains is what only the schema knows, such as ranges, patterns and the
/// keys of built-in policy settings, which the binder leaves to each policy.
/// </summary>
internal static class SchemaValidator
{
    public const string ResourceName = "Keeptrusts.Policy.policy-config.schema.json";

    /// <summary>
    /// Marks a schema node whose constraints a lint rule also checks, with the code that rule reports; the rule runs
    /// later and says more (alternatives, the other field of a cross-field check), so the schema stays silent there.
    /// </summary>
    public const string LintCodeKeyword = "x-keeptrusts-lint";

    private static readonly Lazy<JsonSchema> Schema = new(LoadSchema, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string SchemaText { get; } = ReadResource();

    internal static JsonSchema LoadedSchema => Schema.Value;

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

    private static bool HasLintCode(JsonSchema schema) =>
        schema.ExtensionData?.ContainsKey(LintCodeKeyword) == true || schema.ActualSchema.ExtensionData?.ContainsKey(LintCodeKeyword) == true;

    /// <summary>The schema node that describes the value at a document path, or null when the schema has none.</summary>
    internal static JsonSchema? SchemaAt(IEnumerable<object> segments)
    {
        JsonSchema? schema = Schema.Value;
        foreach (var segment in segments)
        {
            var actual = schema!.ActualSchema;
            schema = segment switch
            {
                string key when actual.Properties.TryGetValue(key, out var property) => property,
                string => actual.AdditionalPropertiesSchema,
                _ => actual.Item,
            };
            if (schema is null)
            {
                return null;
            }
        }

        return schema;
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
    /// The keys and indexes that lead from the document root to the value an error is about, read from the failing
    /// token's place in the validated tree (never from a formatted path string, so keys with dots, quotes or
    /// brackets need no escaping rules). A missing required key is the last step of its path.
    /// </summary>
    internal static List<object> ParsePath(ValidationError error)
    {
        var segments = new List<object>();
        for (var token = error.Token; token?.Parent is { } parent; token = parent)
        {
            switch (token)
            {
                case JProperty property:
                    segments.Add(property.Name);
                    break;
                case var item when parent is JArray array:
                    segments.Add(array.IndexOf(item));
                    break;
            }
        }

        segments.Reverse();
        if (error.Kind == ValidationErrorKind.PropertyRequired && error.Property is { Length: > 0 } required
            && error.Token is not JProperty && (segments.Count == 0 || !Equals(segments[^1], required)))
        {
            segments.Add(required);
        }

        return segments;
    }

    internal static string ToConfigPath(IEnumerable<object> segments)
    {
        var path = string.Empty;
        foreach (var segment in segments)
        {
            path = segment is int index ? ConfigPath.Index(path, index) : ConfigPath.Child(path, (string)segment);
        }

        return path;
    }

    /// <summary>The node at a path or, for a key that is not there, the mapping that should hold it.</summary>
    private static ConfigNode Locate(ConfigMapping root, string path)
    {
        for (var current = path; current.Length > 0;)
        {
            if (ConfigPath.Find(root, current) is { } node)
            {
                return node;
            }

            var cut = Math.Max(current.LastIndexOf('.'), current.LastIndexOf('['));
            current = cut > 0 ? current[..cut] : string.Empty;
        }

        return root;
    }

    /// <summary>
    /// An undeclared key the binder did not see as unknown: it sits in a settings block the binder leaves open
    /// (<c>policy.&lt;id&gt;</c>). Reported like the binder's unknown keys, at the key, so every typo has one code.
    /// </summary>
    private static ConfigDiagnostic UnknownKey(ValidationError error, ConfigMapping root, string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        var parentPath = cut > 0 ? path[..cut] : string.Empty;
        var key = error.Property ?? string.Empty;
        var location = Locate(root, path).Location;
        if ((parentPath.Length == 0 ? root : ConfigPath.Find(root, parentPath)) is ConfigMapping parent && parent.IndexOf(key) is var at and >= 0)
        {
            location = parent.Entries[at].Key.Location;
        }

        var known = error.Schema?.ActualSchema.Properties.Keys ?? (ICollection<string>)[];
        var suggestion = ConfigBinder.Suggest(key, known);
        var hint = suggestion is not null ? $"; did you mean '{suggestion}'?" : $"; known keys: {string.Join(", ", known)}";
        var where = parentPath.Length == 0 ? "at the top level" : $"in '{parentPath}'";
        return new ConfigDiagnostic(DiagnosticCodes.UnknownKey, DiagnosticSeverity.Warning, $"unknown key '{key}' {where}{hint}", location, path);
    }

    private static string Describe(ValidationError error, string path, ConfigNode? node)
    {
        var where = path.Length == 0 ? "the document" : $"'{path}'";
        var schema = error.Schema;
        var found = node is ConfigScalar { Value: { } text } ? text : node?.KindName ?? "nothing";
        return error.Kind switch
        {
            ValidationErrorKind.PropertyRequired => $"{where} is required",
            ValidationErrorKind.NotInEnumeration when schema?.Enumeration is { Count: > 0 } allowed =>
                $"'{found}' is not allowed for {where}; expected one of: {string.Join(", ", allowed)}{SuggestionFor(found, allowed)}",
            ValidationErrorKind.NumberTooSmall when schema is not null => schema.ExclusiveMinimum is not null || schema.IsExclusiveMinimum
                ? $"{where} must be above {Number(schema.ExclusiveMinimum ?? schema.Minimum)}, found {found}"
                : $"{where} must be at least {Number(schema.Minimum)}, found {found}",
            ValidationErrorKind.NumberTooBig when schema is not null => schema.ExclusiveMaximum is not null || schema.IsExclusiveMaximum
                ? $"{where} must be below {Number(schema.ExclusiveMaximum ?? schema.Maximum)}, found {found}"
                : $"{where} must be at most {Number(schema.Maximum)}, found {found}",
            ValidationErrorKind.PatternMismatch => $"{where} does not have the expected format (pattern {schema?.Pattern}), found '{found}'",
            ValidationErrorKind.UriExpected => $"{where} must be an absolute URL, found '{found}'",
            ValidationErrorKind.StringExpected => $"{where} must be a string, found {node?.KindName}",
            ValidationErrorKind.NumberExpected => $"{where} must be a number, found {node?.KindName}",
            ValidationErrorKind.IntegerExpected => $"{where} must be a whole number, found {node?.KindName}",
            ValidationErrorKind.BooleanExpected => $"{where} must be true or false, found {node?.KindName}",
            ValidationErrorKind.ArrayExpected => $"{where} must be a list, found {node?.KindName}",
            ValidationErrorKind.ObjectExpected => $"{where} must be a mapping, found {node?.KindName}",
            ValidationErrorKind.NotOneOf when IsKeyChoice(schema) => KeyChoice(where, schema!, node),
            ValidationErrorKind.StringTooShort => $"{where} is too short",
            ValidationErrorKind.StringTooLong => $"{where} is too long",
            ValidationErrorKind.TooFewItems => $"{where} has too few items",
            ValidationErrorKind.TooManyItems => $"{where} has too many items",
            ValidationErrorKind.ItemsNotUnique => $"{where} has duplicate items",
            _ => $"{where} does not match the policy-config schema ({SplitWords(error.Kind.ToString())})",
        };
    }

    private static string KeyChoice(string where, JsonSchema schema, ConfigNode? node)
    {
        var choices = schema.OneOf.SelectMany(static b => b.RequiredProperties).ToList();
        var present = node is ConfigMapping map ? choices.Where(c => map.IndexOf(c) >= 0).ToList() : [];
        var options = string.Join(" or ", choices.Select(static c => $"'{c}'"));
        return present.Count > 1
            ? $"{where} sets {string.Join(" and ", present.Select(static c => $"'{c}'"))}; keep exactly one of {options}"
            : $"{where} needs exactly one of {options}";
    }

    private static string SuggestionFor(string found, IEnumerable<object?> allowed) =>
        ConfigBinder.Suggest(found, allowed.OfType<string>()) is { } suggestion ? $"; did you mean '{suggestion}'?" : string.Empty;

    private static string Number(decimal? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "?";

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

    private static string ReadResource()
    {
        using var stream = typeof(SchemaValidator).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded schema {ResourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static JsonSchema LoadSchema() => JsonSchema.FromJsonAsync(SchemaText).GetAwaiter().GetResult();
}
