using Keeptrusts.Policy.Configuration.Layering;
using Keeptrusts.Policy.Configuration.Yaml;

namespace Keeptrusts.Policy.Tests.Configuration.Layering;

/// <summary>
/// Addresses scalars the way layering sees them: keyed-list items by lowercased id, plain-list items by index. The
/// owner of a leaf is the node a later layer replaces as a whole: the scalar itself, or the plain list holding it.
/// </summary>
internal static class LogicalPaths
{
    public sealed record Leaf(string Path, string Owner, ConfigScalar Scalar);

    public static List<Leaf> Leaves(ConfigNode root)
    {
        var leaves = new List<Leaf>();
        Walk(root, string.Empty, null, leaves);
        return leaves;
    }

    private static void Walk(ConfigNode node, string path, string? plainOwner, List<Leaf> leaves)
    {
        switch (node)
        {
            case ConfigScalar s:
                leaves.Add(new Leaf(path, plainOwner ?? path, s));
                break;
            case ConfigMapping m:
                foreach (var e in m.Entries)
                {
                    Walk(e.Value, path + "/" + e.Key.Value, plainOwner, leaves);
                }

                break;
            case ConfigSequence seq when plainOwner is null && seq.Items.Count > 0 && ConfigMerger.IsKeyed(seq):
                foreach (var item in seq.Items)
                {
                    Walk(item, path + "[id=" + IdOf(item) + "]", null, leaves);
                }

                break;
            case ConfigSequence seq:
                for (var i = 0; i < seq.Items.Count; i++)
                {
                    Walk(seq.Items[i], path + "[" + i + "]", plainOwner ?? path, leaves);
                }

                break;
        }
    }

    /// <summary>The node at a logical path, or null.</summary>
    public static ConfigNode? Find(ConfigNode? root, string path)
    {
        var node = root;
        var i = 0;
        while (node is not null && i < path.Length)
        {
            if (path[i] == '/')
            {
                var end = NextSegment(path, i + 1);
                node = node is ConfigMapping m && m.TryGetValue(path[(i + 1)..end], out var v) ? v : null;
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("[id="))
            {
                var end = path.IndexOf(']', i);
                var id = path[(i + 4)..end];
                node = node is ConfigSequence s ? s.Items.FirstOrDefault(item => item is ConfigMapping && ConfigMerger.IsKeyed(new ConfigSequence(default, [item])) && string.Equals(IdOf(item), id, StringComparison.Ordinal)) : null;
                i = end + 1;
            }
            else
            {
                var end = path.IndexOf(']', i);
                var index = int.Parse(path[(i + 1)..end], System.Globalization.CultureInfo.InvariantCulture);
                node = node is ConfigSequence s && index < s.Items.Count ? s.Items[index] : null;
                i = end + 1;
            }
        }

        return node;
    }

    private static int NextSegment(string path, int from)
    {
        var end = path.IndexOfAny(['/', '['], from);
        return end < 0 ? path.Length : end;
    }

    private static string IdOf(ConfigNode item) =>
        ((ConfigMapping)item).TryGetValue("id", out var id) ? ((ConfigScalar)id).Value!.ToLowerInvariant() : string.Empty;
}
