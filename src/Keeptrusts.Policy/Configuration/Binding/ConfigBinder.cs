using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration.Binding;

/// <summary>
/// Binds <see cref="ConfigNode"/> trees to immutable configuration records by convention: a property
/// <c>MaxFallbackAttempts</c> reads the key <c>max_fallback_attempts</c>; enum values are snake_case too.
/// Every problem becomes a diagnostic with the node's position; binding never throws on bad input and
/// always produces a value (defaults where the input was unusable), so all findings are reported at once.
/// Runs at load time only; reflection metadata is cached per type.
/// </summary>
internal sealed class ConfigBinder(List<ConfigDiagnostic> diagnostics)
{
    private static readonly ConcurrentDictionary<Type, TypeShape> Shapes = new();
    private static readonly ConcurrentDictionary<Type, EnumShape> Enums = new();

    public T Bind<T>(ConfigMapping node, string path)
        where T : class, new() => (T)BindRecord(typeof(T), node, path);

    /// <summary>The YAML keys a record type declares, for schema agreement checks and suggestions.</summary>
    public static IReadOnlyCollection<string> KeysOf(Type recordType) => ShapeOf(recordType).ByKey.Keys;

    /// <summary>The YAML spellings of an enum's values.</summary>
    public static IReadOnlyList<string> NamesOf(Type enumType) => EnumOf(enumType).Names;

    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private object BindRecord(Type type, ConfigMapping map, string path)
    {
        var shape = ShapeOf(type);
        var instance = Activator.CreateInstance(type)!;
        foreach (var entry in map.Entries)
        {
            var key = entry.Key.Value!;
            if (!shape.ByKey.TryGetValue(key, out var property))
            {
                if (!shape.Open)
                {
                    ReportUnknownKey(entry.Key, key, shape.ByKey.Keys, path);
                }

                continue;
            }

            if (property.IsRaw)
            {
                continue;
            }

            if (entry.Value is ConfigScalar { IsNull: true })
            {
                continue;
            }

            var childPath = ConfigPath.Child(path, key);
            if (TryBindValue(property.Property.PropertyType, entry.Value, childPath, property.InvalidValueCode, out var value))
            {
                property.Property.SetValue(instance, value);
            }
        }

        foreach (var property in shape.Properties)
        {
            if (property.IsRaw)
            {
                property.Property.SetValue(instance, map);
                continue;
            }

            if (property.RequiredCode is { } code && (!map.TryGetValue(property.Key, out var v) || v is ConfigScalar { IsNull: true }))
            {
                var where = string.IsNullOrEmpty(path) ? "the document" : $"'{path}'";
                Report(code, DiagnosticSeverity.Error, $"{where} is missing the required key '{property.Key}'", map.Location, ConfigPath.Child(path, property.Key));
            }
        }

        return instance;
    }

    private bool TryBindValue(Type type, ConfigNode node, string path, string? invalidValueCode, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;

        if (underlying == typeof(string))
        {
            if (node is ConfigScalar s)
            {
                value = s.Value;
                return true;
            }

            return WrongType(node, "a string", path);
        }

        if (underlying == typeof(bool))
        {
            if (node is ConfigScalar { Kind: ScalarKind.Boolean } b)
            {
                value = b.Value!.Equals("true", StringComparison.OrdinalIgnoreCase);
                return true;
            }

            return WrongType(node, "true or false", path);
        }

        if (underlying == typeof(int))
        {
            if (node is ConfigScalar { Kind: ScalarKind.Integer } i)
            {
                if (TryParseInteger(i.Value!, out var number) && number is >= int.MinValue and <= int.MaxValue)
                {
                    value = (int)number;
                    return true;
                }

                Report(DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, $"{i.Value} is too large for '{path}'", node.Location, path);
                return false;
            }

            return WrongType(node, "a whole number", path);
        }

        if (underlying == typeof(double) || underlying == typeof(decimal))
        {
            if (node is ConfigScalar { Kind: ScalarKind.Integer or ScalarKind.Float } n)
            {
                if (underlying == typeof(double) && double.TryParse(n.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    value = d;
                    return true;
                }

                if (underlying == typeof(decimal) && decimal.TryParse(n.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var m))
                {
                    value = m;
                    return true;
                }

                Report(DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, $"'{n.Value}' is not a usable number for '{path}'", node.Location, path);
                return false;
            }

            return WrongType(node, "a number", path);
        }

        if (underlying.IsEnum)
        {
            if (node is ConfigScalar { Kind: not ScalarKind.Null } e)
            {
                var shape = EnumOf(underlying);
                if (shape.ByName.TryGetValue(e.Value!, out var parsed))
                {
                    value = parsed;
                    return true;
                }

                var suggestion = Suggest(e.Value!, shape.Names);
                var hint = suggestion is null ? string.Empty : $"; did you mean '{suggestion}'?";
                Report(invalidValueCode ?? DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, $"'{e.Value}' is not allowed for '{path}'; expected one of: {string.Join(", ", shape.Names)}{hint}", node.Location, path);
                return false;
            }

            return WrongType(node, "one of: " + string.Join(", ", EnumOf(underlying).Names), path);
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            if (node is not ConfigSequence seq)
            {
                return WrongType(node, "a list", path);
            }

            var itemType = underlying.GetGenericArguments()[0];
            var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
            for (var i = 0; i < seq.Items.Count; i++)
            {
                var item = seq.Items[i];
                var itemPath = ConfigPath.Index(path, i);
                if (item is ConfigScalar { IsNull: true })
                {
                    Report(DiagnosticCodes.WrongType, DiagnosticSeverity.Error, $"'{itemPath}' is empty; remove the empty list item", item.Location, itemPath);
                    continue;
                }

                if (TryBindValue(itemType, item, itemPath, invalidValueCode, out var boundItem))
                {
                    list.Add(boundItem);
                }
            }

            value = list;
            return true;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            if (node is not ConfigMapping dict)
            {
                return WrongType(node, "a mapping", path);
            }

            var valueType = underlying.GetGenericArguments()[1];
            var result = (System.Collections.IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType), StringComparer.OrdinalIgnoreCase)!;
            foreach (var entry in dict.Entries)
            {
                var key = entry.Key.Value!;
                var entryPath = ConfigPath.Child(path, key);
                if (result.Contains(key))
                {
                    Report(DiagnosticCodes.DuplicateKey, DiagnosticSeverity.Error, $"'{key}' appears twice in '{path}' (keys are compared case-insensitively)", entry.Key.Location, entryPath);
                    continue;
                }

                var entryNode = entry.Value is ConfigScalar { IsNull: true } ? new ConfigMapping(entry.Value.Location, []) : entry.Value;
                if (TryBindValue(valueType, entryNode, entryPath, invalidValueCode, out var boundValue))
                {
                    result[key] = boundValue;
                }
            }

            value = result;
            return true;
        }

        if (underlying == typeof(ConfigMapping) || underlying == typeof(ConfigNode))
        {
            value = node;
            return true;
        }

        if (underlying.IsClass)
        {
            if (node is not ConfigMapping record)
            {
                return WrongType(node, "a mapping", path);
            }

            value = BindRecord(underlying, record, path);
            return true;
        }

        throw new InvalidOperationException($"The configuration binder does not support {underlying}.");
    }

    private static bool TryParseInteger(string text, out long value)
    {
        if (text.StartsWith("0x", StringComparison.Ordinal))
        {
            return long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal))
        {
            value = 0;
            foreach (var c in text.AsSpan(2))
            {
                if (value > long.MaxValue / 8)
                {
                    return false;
                }

                value = (value * 8) + (c - '0');
            }

            return true;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    private bool WrongType(ConfigNode node, string expected, string path)
    {
        var found = node is ConfigScalar s && s.Value is { } text ? $"{node.KindName} '{Truncate(text)}'" : node.KindName == "list" ? "a list" : node.KindName == "mapping" ? "a mapping" : node.KindName;
        Report(DiagnosticCodes.WrongType, DiagnosticSeverity.Error, $"'{path}' must be {expected}, found {found}", node.Location, path);
        return false;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");

    private void ReportUnknownKey(ConfigScalar keyNode, string key, IEnumerable<string> known, string path)
    {
        var where = string.IsNullOrEmpty(path) ? "at the top level" : $"in '{path}'";
        var suggestion = Suggest(key, known);
        var hint = suggestion is not null ? $"; did you mean '{suggestion}'?" : $"; known keys: {string.Join(", ", known)}";
        Report(DiagnosticCodes.UnknownKey, DiagnosticSeverity.Warning, $"unknown key '{key}' {where}{hint}", keyNode.Location, ConfigPath.Child(path, key));
    }

    private void Report(string code, DiagnosticSeverity severity, string message, SourceLocation location, string path) =>
        diagnostics.Add(new ConfigDiagnostic(code, severity, message, location, path));

    /// <summary>The closest candidate within an edit distance that still reads as a typo, or null.</summary>
    public static string? Suggest(string input, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var normalized = input.ToLowerInvariant().Replace('-', '_');
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(normalized, candidate);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }

        var allowed = Math.Max(1, Math.Min(3, input.Length / 3));
        return bestDistance <= allowed ? best : null;
    }

    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static TypeShape ShapeOf(Type type) => Shapes.GetOrAdd(type, static t =>
    {
        var properties = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => new PropertyShape(
                p,
                p.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? SnakeCase(p.Name),
                p.GetCustomAttribute<ConfigRequiredAttribute>()?.Code,
                p.GetCustomAttribute<ConfigInvalidValueCodeAttribute>()?.Code,
                p.PropertyType == typeof(ConfigMapping) && t.GetCustomAttribute<ConfigOpenAttribute>() is not null))
            .ToArray();
        var byKey = properties.Where(p => !p.IsRaw).ToDictionary(p => p.Key, StringComparer.Ordinal);
        return new TypeShape(properties, byKey, t.GetCustomAttribute<ConfigOpenAttribute>() is not null);
    });

    private static EnumShape EnumOf(Type type) => Enums.GetOrAdd(type, static t =>
    {
        var byName = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var field in t.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var name = field.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? SnakeCase(field.Name);
            names.Add(name);
            byName[name] = field.GetValue(null)!;
            foreach (var alias in field.GetCustomAttributes<ConfigAliasAttribute>())
            {
                byName[alias.Alias] = field.GetValue(null)!;
            }
        }

        return new EnumShape(byName, names);
    });

    private sealed record PropertyShape(PropertyInfo Property, string Key, string? RequiredCode, string? InvalidValueCode, bool IsRaw);

    private sealed record TypeShape(PropertyShape[] Properties, Dictionary<string, PropertyShape> ByKey, bool Open);

    private sealed record EnumShape(Dictionary<string, object> ByName, List<string> Names);
}
