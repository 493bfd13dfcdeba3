using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Linting;
using Keeptrusts.Policy.Tests.TestSupport;
using NJsonSchema;

namespace Keeptrusts.Policy.Tests.Configuration.Schema;

/// <summary>The published schema file itself: well-formed draft-07, shipped as is, and satisfied by every documented example.</summary>
public class SchemaDocumentTests
{
    private const string Draft07 = "http://json-schema.org/draft-07/schema#";

    // Draft-07 keywords (core, validation, meta-data, format); "x-" extensions are ignored by validators.
    private static readonly HashSet<string> Keywords =
    [
        "$schema", "$id", "$ref", "$comment", "title", "description", "default", "readOnly", "writeOnly", "examples",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
        "additionalItems", "items", "maxItems", "minItems", "uniqueItems", "contains", "maxProperties", "minProperties",
        "required", "properties", "patternProperties", "additionalProperties", "dependencies", "propertyNames",
        "const", "enum", "type", "format", "contentMediaType", "contentEncoding", "if", "then", "else",
        "allOf", "anyOf", "oneOf", "not", "definitions",
    ];

    private static readonly HashSet<string> SchemaMaps = ["properties", "patternProperties", "definitions"];
    private static readonly HashSet<string> SchemaValues = ["items", "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else"];
    private static readonly HashSet<string> SchemaArrays = ["allOf", "anyOf", "oneOf"];

    public static TheoryData<string> SeedExamples()
    {
        var data = new TheoryData<string>();
        foreach (var file in TestFiles.SeedExamples())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void Schema_is_draft_07_with_the_published_id_and_a_title()
    {
        using var document = JsonDocument.Parse(SchemaValidator.SchemaText);
        var root = document.RootElement;

        Assert.Equal(Draft07, root.GetProperty("$schema").GetString());
        Assert.Equal("https://schemas.keeptrusts.com/policy-config.schema.json", root.GetProperty("$id").GetString());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
    }

    [Fact]
    public void Schema_uses_only_draft_07_keywords_and_every_ref_resolves()
    {
        using var document = JsonDocument.Parse(SchemaValidator.SchemaText);
        var problems = new List<string>();
        CheckSchema(document.RootElement, "#", document.RootElement, problems);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Schema_loads_in_NJsonSchema()
    {
        var schema = await JsonSchema.FromJsonAsync(SchemaValidator.SchemaText);

        Assert.Equal(["pack"], schema.RequiredProperties);
        Assert.False(schema.AllowAdditionalProperties);
    }

    [Fact]
    public void Lint_codes_in_the_schema_name_real_diagnostics()
    {
        using var document = JsonDocument.Parse(SchemaValidator.SchemaText);
        var codes = new List<string>();
        Collect(document.RootElement, codes);

        Assert.NotEmpty(codes);
        Assert.All(codes, code => Assert.True(DiagnosticCodes.Catalog.ContainsKey(code), $"{code} is not a diagnostic code"));

        static void Collect(JsonElement element, List<string> codes)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == SchemaValidator.LintCodeKeyword)
                    {
                        codes.Add(property.Value.GetString()!);
                    }

                    Collect(property.Value, codes);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, codes);
                }
            }
        }
    }

    [Fact]
    public void Embedded_schema_is_the_file_in_the_repository()
    {
        var onDisk = File.ReadAllText(Path.Combine(RepositoryRoot(), "schema", "policy-config.schema.json"));

        Assert.Equal(onDisk, SchemaValidator.SchemaText);
    }

    [Theory]
    [MemberData(nameof(SeedExamples))]
    public void Every_documented_example_is_valid_against_the_schema(string name)
    {
        var errors = SchemaErrors(File.ReadAllText(Path.Combine(TestFiles.DataDirectory, "seeds", name)), name);

        Assert.Empty(errors);
    }

    [Theory]
    [MemberData(nameof(SeedExamples))]
    public void Every_documented_example_has_no_schema_findings_in_lint(string name)
    {
        var result = PolicyConfigLoader.LoadFiles([Path.Combine(TestFiles.DataDirectory, "seeds", name)]);

        Assert.DoesNotContain(result.Diagnostics, static d => d.Code == DiagnosticCodes.SchemaViolation);
    }

    [Fact]
    public void A_document_with_every_key_is_valid_and_lints_clean()
    {
        var file = Path.Combine(TestFiles.DataDirectory, "schema", "complete.yaml");

        Assert.Empty(SchemaErrors(File.ReadAllText(file), file));
        Assert.Empty(PolicyConfigLoader.LoadFiles([file]).Diagnostics);
    }

    private static List<string> SchemaErrors(string yaml, string name)
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var root = YamlDocumentReader.Read(yaml, name, diagnostics);
        Assert.Empty(diagnostics);
        var json = SchemaValidator.ToJson(root!, omitNulls: true);
        return SchemaValidator.LoadedSchema.Validate(json).Select(static e => $"{e.Kind} at {e.Path}").ToList();
    }

    private static void CheckSchema(JsonElement schema, string pointer, JsonElement root, List<string> problems)
    {
        if (schema.ValueKind == JsonValueKind.True || schema.ValueKind == JsonValueKind.False)
        {
            return;
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{pointer}: a schema must be an object or a boolean");
            return;
        }

        foreach (var property in schema.EnumerateObject())
        {
            var at = $"{pointer}/{property.Name}";
            if (!Keywords.Contains(property.Name) && !property.Name.StartsWith("x-", StringComparison.Ordinal))
            {
                problems.Add($"{at}: '{property.Name}' is not a draft-07 keyword");
            }
            else if (SchemaMaps.Contains(property.Name))
            {
                foreach (var child in property.Value.EnumerateObject())
                {
                    CheckSchema(child.Value, $"{at}/{child.Name}", root, problems);
                }
            }
            else if (SchemaValues.Contains(property.Name))
            {
                CheckSchema(property.Value, at, root, problems);
            }
            else if (SchemaArrays.Contains(property.Name))
            {
                var i = 0;
                foreach (var child in property.Value.EnumerateArray())
                {
                    CheckSchema(child, $"{at}/{i++}", root, problems);
                }
            }
            else if (property.Name == "$ref" && !Resolves(root, property.Value.GetString()!))
            {
                problems.Add($"{at}: '{property.Value.GetString()}' does not resolve");
            }
        }
    }

    private static bool Resolves(JsonElement root, string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return false;
        }

        var current = root;
        foreach (var token in reference[2..].Split('/'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal), out current))
            {
                return false;
            }
        }

        return true;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Keeptrusts.Sdk.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Keeptrusts.Sdk.sln) was not found above the test output.");
    }
}
