using System.Collections;
using System.Reflection;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;

namespace Keeptrusts.Policy.Configuration;

/// <summary>
/// Compares two configurations, as hot reload needs to know what changed: list items that carry an id (targets,
/// models, gateway keys) are matched by id, compared case-insensitively, so reordering is not a change and a renamed
/// case is the same item; policy settings are matched by policy id, case-insensitively.
/// </summary>
public static class PolicyConfigDiff
{
    /// <summary>Lists the differences from <paramref name="before"/> to <paramref name="after"/>, in document order.</summary>
    /// <param name="before">The older configuration.</param>
    /// <param name="after">The newer configuration.</param>
    /// <returns>The changes; empty when the configurations are equivalent.</returns>
    public static IReadOnlyList<PolicyConfigChange> Compare(PolicyConfig before, PolicyConfig after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<PolicyConfigChange>();
        CompareValues(typeof(PolicyConfig), before, after, string.Empty, changes);
        return changes;
    }

    private static void CompareValues(Type type, object? a, object? b, string path, List<PolicyConfigChange> changes)
    {
        if (a is null || b is null)
        {
            if (a is not null)
            {
                changes.Add(new(PolicyConfigChangeKind.Removed, path));
            }
            else if (b is not null)
            {
                changes.Add(new(PolicyConfigChangeKind.Added, path));
            }

            return;
        }

        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (a is ConfigNode na && b is ConfigNode nb)
        {
            if (!na.ContentEquals(nb))
            {
                changes.Add(new(PolicyConfigChangeKind.Modified, path));
            }

            return;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            CompareDictionaries(underlying.GetGenericArguments()[1], (IEnumerable)a, (IEnumerable)b, path, changes);
            return;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            CompareLists(underlying.GetGenericArguments()[0], (IList)a, (IList)b, path, changes);
            return;
        }

        if (IsRecord(underlying))
        {
            foreach (var property in underlying.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.SetMethod is not { IsPublic: true })
                {
                    continue;
                }

                var key = property.PropertyType == typeof(ConfigMapping) ? path : ConfigPath.Child(path, ConfigBinder.SnakeCase(property.Name));
                if (property.Name == "Id" && property.PropertyType == typeof(string))
                {
                    // Items were matched by id already, case-insensitively: a change of case is not a change.
                    continue;
                }

                CompareValues(property.PropertyType, property.GetValue(a), property.GetValue(b), key, changes);
            }

            return;
        }

        if (!Equals(a, b))
        {
            changes.Add(new(PolicyConfigChangeKind.Modified, path));
        }
    }

    private static void CompareDictionaries(Type valueType, IEnumerable a, IEnumerable b, string path, List<PolicyConfigChange> changes)
    {
        var left = ToMap(a);
        var right = ToMap(b);
        foreach (var (key, value) in left)
        {
            var child = ConfigPath.Child(path, key);
            if (right.TryGetValue(key, out var other))
            {
                CompareValues(valueType, value, other, child, changes);
            }
            else
            {
                changes.Add(new(PolicyConfigChangeKind.Removed, child));
            }
        }

        foreach (var key in right.Keys.Where(k => !left.ContainsKey(k)))
        {
            changes.Add(new(PolicyConfigChangeKind.Added, ConfigPath.Child(path, key)));
        }
    }

    private static Dictionary<string, object?> ToMap(IEnumerable entries)
    {
        var map = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            var t = entry.GetType();
            map[(string)t.GetProperty("Key")!.GetValue(entry)!] = t.GetProperty("Value")!.GetValue(entry);
        }

        return map;
    }

    private static void CompareLists(Type itemType, IList a, IList b, string path, List<PolicyConfigChange> changes)
    {
        var id = itemType.GetProperty("Id", typeof(string));
        if (id is null || !IsRecord(itemType))
        {
            if (a.Count != b.Count || !a.Cast<object?>().SequenceEqual(b.Cast<object?>(), ValueComparer.Instance))
            {
                changes.Add(new(PolicyConfigChangeKind.Modified, path));
            }

            return;
        }

        var right = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in b)
        {
            right.TryAdd((string)id.GetValue(item)!, item!);
        }

        var left = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in a)
        {
            var key = (string)id.GetValue(item)!;
            left.Add(key);
            var child = path + "[" + key + "]";
            if (right.TryGetValue(key, out var other))
            {
                CompareValues(itemType, item, other, child, changes);
            }
            else
            {
                changes.Add(new(PolicyConfigChangeKind.Removed, child));
            }
        }

        foreach (var item in b)
        {
            var key = (string)id.GetValue(item)!;
            if (left.Add(key))
            {
                changes.Add(new(PolicyConfigChangeKind.Added, path + "[" + key + "]"));
            }
        }
    }

    private static bool IsRecord(Type type) => type.IsClass && type != typeof(string) && type.GetMethod("<Clone>$") is not null;

    private sealed class ValueComparer : IEqualityComparer<object?>
    {
        public static readonly ValueComparer Instance = new();

        public new bool Equals(object? x, object? y)
        {
            if (x is null || y is null || !IsRecord(x.GetType()))
            {
                return object.Equals(x, y);
            }

            var changes = new List<PolicyConfigChange>();
            CompareValues(x.GetType(), x, y, string.Empty, changes);
            return changes.Count == 0;
        }

        public int GetHashCode(object? obj) => 0;
    }
}
