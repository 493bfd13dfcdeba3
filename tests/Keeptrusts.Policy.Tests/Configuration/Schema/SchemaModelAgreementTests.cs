using System.Globalization;
using System.Reflection;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Linting;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NJsonSchema;

namespace Keeptrusts.Policy.Tests.Configuration.Schema;

/// <summary>
/// The published schema and the C# model describe the same document: walking both from the root, every YAML key
/// the binder reads has a schema property at the same place and the other way round, with the same type, enum
/// spellings, required keys and defaults. A failure names the path that disagrees.
/// </summary>
public class SchemaModelAgreementTests
{
    private static readonly JsonSchema Root = SchemaValidator.LoadedSchema;

    [Fact]
    public void Schema_and_model_agree_on_every_key_type_enum_required_key_and_default()
    {
        var problems = new List<string>();
        CompareRecord(typeof(PolicyConfig), Root, "(root)", problems);

        Assert.True(problems.Count == 0, "schema and model disagree:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_walk_reaches_every_model_record()
    {
        var visited = new HashSet<Type>();
        CompareRecord(typeof(PolicyConfig), Root, "(root)", [], visited);

        var records = typeof(PolicyConfig).Assembly.GetTypes()
            .Where(static t => t.Namespace == typeof(PolicyConfig).Namespace && t.IsPublic && t.IsClass && t.IsSealed && t.GetMethod("<Clone>$") is not null)
            .Where(static t => t != typeof(PolicyConfigLoadResult) && t != typeof(PolicyConfigSource) && t != typeof(PolicyConfigChange));
        Assert.Empty(records.Where(r => !visited.Contains(r)).Select(static r => r.Name));
    }

    private static void CompareRecord(Type record, JsonSchema schema, string path, List<string> problems, HashSet<Type>? visited = null)
    {
        visited?.Add(record);
        var actual = schema.ActualSchema;
        var open = record.GetCustomAttribute<ConfigOpenAttribute>() is not null;
        Expect(actual.Type == JsonObjectType.Object, path, $"is a {record.Name}, so the schema type must be object, found {actual.Type}", problems);
        Expect(!actual.AllowAdditionalProperties || open, path, "must set additionalProperties: false so editors flag typos", problems);

        var keys = ConfigBinder.KeysOf(record);
        var properties = YamlProperties(record).ToDictionary(static p => p.Key, static p => p.Property, StringComparer.Ordinal);
        Expect(keys.Order(StringComparer.Ordinal).SequenceEqual(properties.Keys.Order(StringComparer.Ordinal)), path, $"the binder's keys ({string.Join(", ", keys)}) differ from the public settable properties ({string.Join(", ", properties.Keys)})", problems);

        foreach (var key in keys.Where(k => !actual.Properties.ContainsKey(k)))
        {
            problems.Add($"{Join(path, key)}: the model ({record.Name}.{properties[key].Name}) has it, the schema does not");
        }

        if (!open)
        {
            foreach (var key in actual.Properties.Keys.Where(k => !keys.Contains(k)))
            {
                problems.Add($"{Join(path, key)}: the schema has it, the model ({record.Name}) does not");
            }
        }

        var required = properties.Where(static p => p.Value.GetCustomAttribute<ConfigRequiredAttribute>() is not null).Select(static p => p.Key).Order(StringComparer.Ordinal);
        Expect(required.SequenceEqual(actual.RequiredProperties.Order(StringComparer.Ordinal)), path, $"required keys differ: model [{string.Join(", ", required)}], schema [{string.Join(", ", actual.RequiredProperties)}]", problems);

        var defaults = Activator.CreateInstance(record)!;
        foreach (var (key, property) in properties)
        {
            if (!actual.Properties.TryGetValue(key, out var propertySchema))
            {
                continue;
            }

            var childPath = Join(path, key);
            Expect(!string.IsNullOrWhiteSpace(propertySchema.Description), childPath, "has no description", problems);
            CompareDefault(property, defaults, propertySchema, childPath, problems);
            CompareValue(property.PropertyType, propertySchema, childPath, problems, visited);
        }
    }

    private static void CompareValue(Type type, JsonSchema schema, string path, List<string> problems, HashSet<Type>? visited)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        var actual = schema.ActualSchema;
        if (underlying == typeof(string))
        {
            Expect(actual.Type == JsonObjectType.String || (actual.Type == JsonObjectType.None && actual.AnyOf.Count > 0), path, $"is a string in the model, found {actual.Type}", problems);
        }
        else if (underlying == typeof(bool))
        {
            Expect(actual.Type == JsonObjectType.Boolean, path, $"is a bool in the model, found {actual.Type}", problems);
        }
        else if (underlying == typeof(int))
        {
            Expect(actual.Type == JsonObjectType.Integer, path, $"is an int in the model, found {actual.Type}", problems);
        }
        else if (underlying == typeof(double) || underlying == typeof(decimal))
        {
            Expect(actual.Type == JsonObjectType.Number, path, $"is a {underlying.Name} in the model, found {actual.Type}", problems);
        }
        else if (underlying.IsEnum)
        {
            var expected = EnumSpellings(underlying).Order(StringComparer.Ordinal);
            var found = actual.Enumeration.Select(static v => Convert.ToString(v, CultureInfo.InvariantCulture)!).Order(StringComparer.Ordinal);
            Expect(expected.SequenceEqual(found), path, $"enum values differ: model [{string.Join(", ", expected)}], schema [{string.Join(", ", found)}]", problems);
        }
        else if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            Expect(actual.Type == JsonObjectType.Array && actual.Item is not null, path, "is a list in the model, the schema has no array items", problems);
            if (actual.Item is { } item)
            {
                CompareValue(underlying.GetGenericArguments()[0], item, path + "[]", problems, visited);
            }
        }
        else if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            Expect(actual.Type == JsonObjectType.Object && actual.AdditionalPropertiesSchema is not null, path, "is a dictionary in the model, the schema has no additionalProperties schema", problems);
            var valueType = underlying.GetGenericArguments()[1];
            var valueSchemas = actual.Properties.Select(static p => (p.Key, (JsonSchema)p.Value));
            if (actual.AdditionalPropertiesSchema is { } other)
            {
                valueSchemas = valueSchemas.Append(("*", other));
            }

            foreach (var (key, valueSchema) in valueSchemas)
            {
                if (valueType == typeof(PolicySettings))
                {
                    // Policies validate their own settings; from the model only `mode` is compared.
                    ComparePolicySettings(valueSchema, Join(path, key), problems, visited);
                }
                else
                {
                    CompareValue(valueType, valueSchema, Join(path, key), problems, visited);
                }
            }
        }
        else if (underlying.IsClass)
        {
            CompareRecord(underlying, schema, path, problems, visited);
        }
        else
        {
            problems.Add($"{path}: the test does not know the model type {underlying}");
        }
    }

    private static void ComparePolicySettings(JsonSchema schema, string path, List<string> problems, HashSet<Type>? visited)
    {
        visited?.Add(typeof(PolicySettings));
        var actual = schema.ActualSchema;
        Expect(actual.Type == JsonObjectType.Object, path, "policy settings must be an object", problems);
        var defaults = new PolicySettings();
        foreach (var (key, property) in YamlProperties(typeof(PolicySettings)))
        {
            if (!actual.Properties.TryGetValue(key, out var propertySchema))
            {
                problems.Add($"{Join(path, key)}: the model (PolicySettings.{property.Name}) has it, the schema does not");
                continue;
            }

            CompareDefault(property, defaults, propertySchema, Join(path, key), problems);
            CompareValue(property.PropertyType, propertySchema, Join(path, key), problems, visited);
        }

        foreach (var (key, propertySchema) in actual.Properties)
        {
            Expect(!string.IsNullOrWhiteSpace(propertySchema.Description), Join(path, key), "has no description", problems);
        }
    }

    /// <summary>A schema default exists exactly when the model's default is a meaningful value, and they are equal.</summary>
    private static void CompareDefault(PropertyInfo property, object defaults, JsonSchema schema, string path, List<string> problems)
    {
        var value = property.GetValue(defaults);
        var required = property.GetCustomAttribute<ConfigRequiredAttribute>() is not null;
        var expected = required ? null : DefaultAsJson(value);
        var found = schema.Default is null ? null : JToken.FromObject(schema.Default).ToString(Formatting.None);
        if (expected is null && found is not null)
        {
            problems.Add($"{path}: the schema has default {found}, the model has no default value");
        }
        else if (expected is not null && !JToken.DeepEquals(JToken.Parse(expected), found is null ? null : JToken.Parse(found)))
        {
            problems.Add($"{path}: the model's default is {expected}, the schema's is {found ?? "missing"}");
        }
    }

    private static string? DefaultAsJson(object? value) => value switch
    {
        null or "" => null,
        string s => JsonConvert.SerializeObject(s),
        bool b => b ? "true" : "false",
        int or double or decimal => Convert.ToString(value, CultureInfo.InvariantCulture),
        Enum e => JsonConvert.SerializeObject(EnumName(e)),
        System.Collections.IEnumerable list => list.Cast<object>().ToList() is { Count: > 0 } items
            ? "[" + string.Join(",", items.Select(DefaultAsJson)) + "]"
            : null,
        _ => null,
    };

    private static string EnumName(Enum value) =>
        value.GetType().GetField(value.ToString())!.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? ConfigBinder.SnakeCase(value.ToString());

    private static IEnumerable<string> EnumSpellings(Type enumType) =>
        ConfigBinder.NamesOf(enumType).Concat(enumType.GetFields(BindingFlags.Public | BindingFlags.Static).SelectMany(static f => f.GetCustomAttributes<ConfigAliasAttribute>()).Select(static a => a.Alias));

    /// <summary>The properties that are YAML keys: public, settable, not the raw block of an open type.</summary>
    private static IEnumerable<(string Key, PropertyInfo Property)> YamlProperties(Type record) =>
        record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(static p => p.SetMethod is { IsPublic: true } && p.PropertyType != typeof(ConfigMapping) && p.PropertyType != typeof(ConfigNode))
            .Select(static p => (p.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? ConfigBinder.SnakeCase(p.Name), p));

    private static string Join(string path, string key) => path == "(root)" ? key : $"{path}.{key}";

    private static void Expect(bool condition, string path, string message, List<string> problems)
    {
        if (!condition)
        {
            problems.Add($"{path}: {message}");
        }
    }
}
