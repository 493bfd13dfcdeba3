using Keeptrusts.Policy.Configuration.Yaml;

namespace Keeptrusts.Policy.Configuration.Layering;

/// <summary>
/// Merges configuration layers; the later layer wins. The rule (also in <c>docs/configuration.md</c>):
/// <list type="number">
/// <item>A null value in the later layer has no opinion: the earlier value stays.</item>
/// <item>Two mappings merge key by key, recursively; keys keep the order of first appearance.</item>
/// <item>Two keyed lists — every item a mapping with a scalar <c>id</c>; an empty list counts as keyed — merge by
/// id, compared case-insensitively: an item whose id is already present merges into it (rule 2) in place, new ids
/// are appended in the later layer's order.</item>
/// <item>Anything else — scalars, other lists, values whose kinds differ — is replaced by the later value.</item>
/// </list>
/// Every node keeps the position of the layer that set it, so findings point at the file responsible.
/// Merging with an empty document is the identity, and merging is associative whenever the layers agree on the
/// kind (mapping, keyed list, other) of each path and keep ids unique within a list — as valid documents do.
/// </summary>
internal static class ConfigMerger
{
    public static ConfigNode? Merge(ConfigNode? earlier, ConfigNode? later)
    {
        if (later is null or ConfigScalar { IsNull: true })
        {
            return earlier ?? later;
        }

        if (earlier is null or ConfigScalar { IsNull: true })
        {
            return later;
        }

        if (earlier is ConfigMapping a && later is ConfigMapping b)
        {
            return MergeMappings(a, b);
        }

        if (earlier is ConfigSequence sa && later is ConfigSequence sb && IsKeyed(sa) && IsKeyed(sb))
        {
            return MergeKeyed(sa, sb);
        }

        return later;
    }

    /// <summary>Folds layers left to right.</summary>
    public static ConfigNode? MergeAll(IEnumerable<ConfigNode?> layers)
    {
        ConfigNode? result = null;
        foreach (var layer in layers)
        {
            result = Merge(result, layer);
        }

        return result;
    }

    private static ConfigMapping MergeMappings(ConfigMapping earlier, ConfigMapping later)
    {
        var entries = new List<ConfigEntry>(earlier.Entries.Count + later.Entries.Count);
        foreach (var entry in earlier.Entries)
        {
            if (later.TryGetValue(entry.Key.Value!, out var laterValue) && laterValue is not ConfigScalar { IsNull: true })
            {
                var laterKey = later.Entries[later.IndexOf(entry.Key.Value!)].Key;
                entries.Add(new ConfigEntry(laterKey, Merge(entry.Value, laterValue)!));
            }
            else
            {
                entries.Add(entry);
            }
        }

        foreach (var entry in later.Entries)
        {
            if (earlier.IndexOf(entry.Key.Value!) < 0)
            {
                entries.Add(entry);
            }
        }

        return new ConfigMapping(earlier.Location, entries);
    }

    private static ConfigSequence MergeKeyed(ConfigSequence earlier, ConfigSequence later)
    {
        var items = new List<ConfigNode>(earlier.Items);
        var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < items.Count; i++)
        {
            positions.TryAdd(IdOf(items[i]), i);
        }

        foreach (var item in later.Items)
        {
            var id = IdOf(item);
            if (positions.TryGetValue(id, out var at))
            {
                items[at] = Merge(items[at], item)!;
            }
            else
            {
                positions[id] = items.Count;
                items.Add(item);
            }
        }

        return new ConfigSequence(earlier.Items.Count > 0 ? earlier.Location : later.Location, items);
    }

    internal static bool IsKeyed(ConfigSequence sequence)
    {
        foreach (var item in sequence.Items)
        {
            if (item is not ConfigMapping map || !map.TryGetValue("id", out var id) || id is not ConfigScalar { IsNull: false })
            {
                return false;
            }
        }

        return true;
    }

    private static string IdOf(ConfigNode item) => ((ConfigScalar)((ConfigMapping)item).Entries[((ConfigMapping)item).IndexOf("id")].Value).Value!;
}
