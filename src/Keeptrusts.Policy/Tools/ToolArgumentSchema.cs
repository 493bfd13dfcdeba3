using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Keeptrusts.Policy.Tools;

/// <summary>
/// A tool's <c>inputSchema</c>, compiled once, that checks a call's arguments. Only references inside the schema
/// itself (<c>#/...</c>) are followed: a schema that points elsewhere is refused, so checking arguments never makes
/// the gateway fetch anything. Immutable and thread-safe.
/// </summary>
public sealed class ToolArgumentSchema
{
    private readonly JsonSchema _schema;

    private ToolArgumentSchema(JsonSchema schema) => _schema = schema;

    /// <summary>Compiles an input schema.</summary>
    /// <param name="inputSchema">The tool's <c>inputSchema</c> (a JSON object).</param>
    /// <param name="schema">The compiled schema, when it compiled.</param>
    /// <param name="error">Why it did not, otherwise.</param>
    /// <returns>Whether the schema compiled.</returns>
    public static bool TryCreate(JsonElement inputSchema, out ToolArgumentSchema? schema, out string? error)
    {
        schema = null;
        if (inputSchema.ValueKind != JsonValueKind.Object)
        {
            error = "the tool's inputSchema is not a JSON object";
            return false;
        }

        if (HasExternalReference(inputSchema, depth: 0))
        {
            error = "the tool's inputSchema refers to another document; only references inside the schema (#/...) are followed";
            return false;
        }

        try
        {
            schema = new ToolArgumentSchema(JsonSchema.FromJsonAsync(inputSchema.GetRawText()).GetAwaiter().GetResult());
            error = null;
            return true;
        }
#pragma warning disable CA1031 // A schema from an upstream is untrusted input; any failure to read it is a finding, not a crash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = "the tool's inputSchema cannot be read: " + (ex.Message.Length > 200 ? ex.Message[..200] : ex.Message);
            return false;
        }
    }

    /// <summary>Checks a call's arguments.</summary>
    /// <param name="arguments">The arguments object; <see cref="JsonValueKind.Undefined"/> when the call has none (checked as <c>{}</c>).</param>
    /// <returns>Null when the arguments are valid; otherwise the first failing path and why, e.g. <c>$.city: expected string</c>. Never the argument values.</returns>
    public string? Validate(JsonElement arguments)
    {
        var json = arguments.ValueKind == JsonValueKind.Undefined ? "{}" : arguments.GetRawText();
        ICollection<ValidationError> errors;
        try
        {
            errors = _schema.Validate(json);
        }
#pragma warning disable CA1031 // Validation of untrusted data against an untrusted schema must not crash the bridge.
        catch (Exception)
#pragma warning restore CA1031
        {
            return "$: the arguments could not be checked against the tool's inputSchema";
        }

        var first = First(errors);
        return first is null ? null : Path(first) + ": " + Describe(first);
    }

    private static ValidationError? First(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors.OrderBy(static e => e.Path, StringComparer.Ordinal))
        {
            // A failed oneOf/anyOf names the branch errors; the deepest one is the most useful.
            if (error is ChildSchemaValidationError child)
            {
                foreach (var branch in child.Errors.Values)
                {
                    if (First(branch) is { } inner)
                    {
                        return inner;
                    }
                }
            }

            return error;
        }

        return null;
    }

    private static string Path(ValidationError error)
    {
        // NJsonSchema writes "#/a.b[0]" or "#/a"; callers see JSONPath-like "$.a.b[0]".
        var path = error.Path ?? string.Empty;
        path = path.StartsWith("#/", StringComparison.Ordinal) ? path[2..] : path.TrimStart('#');
        if (error.Kind is ValidationErrorKind.PropertyRequired or ValidationErrorKind.NoAdditionalPropertiesAllowed && error.Property is { Length: > 0 } property && !path.EndsWith(property, StringComparison.Ordinal))
        {
            path = path.Length == 0 ? property : path + "." + property;
        }

        return path.Length == 0 ? "$" : path.StartsWith('[') ? "$" + path : "$." + path;
    }

    private static string Describe(ValidationError error) => error.Kind switch
    {
        ValidationErrorKind.PropertyRequired => "required property is missing",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => "property is not allowed by the schema",
        ValidationErrorKind.StringExpected => "expected a string",
        ValidationErrorKind.NumberExpected => "expected a number",
        ValidationErrorKind.IntegerExpected => "expected an integer",
        ValidationErrorKind.BooleanExpected => "expected a boolean",
        ValidationErrorKind.ObjectExpected => "expected an object",
        ValidationErrorKind.ArrayExpected => "expected an array",
        ValidationErrorKind.NullExpected => "expected null",
        ValidationErrorKind.NotInEnumeration => "value is not one of the allowed values",
        _ => "violates the tool's inputSchema (" + error.Kind + ")",
    };

    private static bool HasExternalReference(JsonElement element, int depth)
    {
        if (depth > 64)
        {
            return true;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals("$ref") && (property.Value.ValueKind != JsonValueKind.String || !property.Value.GetString()!.StartsWith('#')))
                    {
                        return true;
                    }

                    if (HasExternalReference(property.Value, depth + 1))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (HasExternalReference(item, depth + 1))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }
}
