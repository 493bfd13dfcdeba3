using System.Text;
using NJsonSchema;

namespace Keeptrusts.Policy.Linting;

/// <content>The embedded schema: its text, the parsed schema and the node that describes a document path.</content>
internal static partial class SchemaValidator
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

    private static string ReadResource()
    {
        using var stream = typeof(SchemaValidator).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded schema {ResourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static JsonSchema LoadSchema() => JsonSchema.FromJsonAsync(SchemaText).GetAwaiter().GetResult();
}
