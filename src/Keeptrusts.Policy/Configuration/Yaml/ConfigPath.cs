using System.Globalization;
using System.Text;

namespace Keeptrusts.Policy.Configuration.Yaml;

/// <summary>Builds and follows document paths such as <c>providers.targets[1].provider</c> or <c>policy["a.b"].mode</c>.</summary>
internal static class ConfigPath
{
    public static string Child(string parent, string key)
    {
        var plain = key.Length > 0 && key.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
        if (!plain)
        {
            var quoted = "[\"" + key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"]";
            return parent + quoted;
        }

        return parent.Length == 0 ? key : parent + "." + key;
    }

    public static string Index(string parent, int index) => string.Create(CultureInfo.InvariantCulture, $"{parent}[{index}]");

    /// <summary>Follows a path from the root; <see langword="null"/> when any step is missing.</summary>
    public static ConfigNode? Find(ConfigNode? root, string path)
    {
        var node = root;
        var i = 0;
        while (node is not null && i < path.Length)
        {
            if (path[i] == '.')
            {
                i++;
            }

            if (path[i] == '[')
            {
                if (path[i + 1] == '"')
                {
                    var key = new StringBuilder();
                    var j = i + 2;
                    for (; j < path.Length && path[j] != '"'; j++)
                    {
                        if (path[j] == '\\')
                        {
                            j++;
                        }

                        key.Append(path[j]);
                    }

                    node = node is ConfigMapping m && m.TryGetValue(key.ToString(), out var v) ? v : null;
                    i = j + 2;
                }
                else
                {
                    var end = path.IndexOf(']', i);
                    var index = int.Parse(path.AsSpan(i + 1, end - i - 1), CultureInfo.InvariantCulture);
                    node = node is ConfigSequence s && index < s.Items.Count ? s.Items[index] : null;
                    i = end + 1;
                }

                continue;
            }

            var stop = path.IndexOfAny(['.', '['], i);
            if (stop < 0)
            {
                stop = path.Length;
            }

            node = node is ConfigMapping map && map.TryGetValue(path[i..stop], out var value) ? value : null;
            i = stop;
        }

        return node;
    }
}
