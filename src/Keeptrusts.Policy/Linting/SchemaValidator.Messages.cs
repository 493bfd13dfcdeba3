using System.Globalization;
using System.Text;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Keeptrusts.Policy.Linting;

/// <content>The wording of schema findings: unknown keys with suggestions, ranges, patterns and key choices.</content>
internal static partial class SchemaValidator
{
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
}
