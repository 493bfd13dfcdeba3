using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using NJsonSchema.Validation;
using Newtonsoft.Json.Linq;

namespace Keeptrusts.Policy.Linting;

/// <content>Where a schema error is: its path from the document root and the node at that path.</content>
internal static partial class SchemaValidator
{
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
}
