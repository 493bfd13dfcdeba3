using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration.Yaml;

/// <summary>
/// A node of a loaded configuration document that remembers where it came from, so that every later
/// finding about it can point at a file, line and column. Nodes are immutable.
/// </summary>
public abstract class ConfigNode
{
    private protected ConfigNode(SourceLocation location) => Location = location;

    /// <summary>Where the node starts in its source file.</summary>
    public SourceLocation Location { get; }

    /// <summary>Whether two nodes hold the same data, ignoring where they came from.</summary>
    /// <param name="other">The node to compare with.</param>
    /// <returns><see langword="true"/> when the data is equal.</returns>
    public abstract bool ContentEquals(ConfigNode? other);

    /// <summary>A short name for the node's kind, used in messages: <c>mapping</c>, <c>list</c>, <c>string</c>, …</summary>
    public abstract string KindName { get; }

    /// <summary>
    /// Writes the node and everything under it as JSON, typing scalars as YAML 1.2's core schema does: numbers
    /// (including <c>0x</c> and <c>0o</c> integers), booleans and null; every other scalar as a string.
    /// </summary>
    /// <param name="writer">Where to write.</param>
    public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ConfigNodeJson.Write(writer, this, omitNullEntries: false);
    }
}

/// <summary>A key and its value in a <see cref="ConfigMapping"/>.</summary>
/// <param name="Key">The key, with its own location.</param>
/// <param name="Value">The value.</param>
public readonly record struct ConfigEntry(ConfigScalar Key, ConfigNode Value);

/// <summary>A YAML mapping: keys in document order, compared by ordinal string equality.</summary>
public sealed class ConfigMapping : ConfigNode
{
    private Dictionary<string, int>? _index;

    /// <summary>Creates a mapping.</summary>
    /// <param name="location">Where the mapping starts.</param>
    /// <param name="entries">The entries in document order; keys must be unique.</param>
    public ConfigMapping(SourceLocation location, IReadOnlyList<ConfigEntry> entries)
        : base(location)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Entries = entries;
    }

    /// <summary>The entries in document order.</summary>
    public IReadOnlyList<ConfigEntry> Entries { get; }

    /// <inheritdoc />
    public override string KindName => "mapping";

    /// <summary>Finds the value of a key.</summary>
    /// <param name="key">The key, compared ordinally.</param>
    /// <param name="value">The value, when found.</param>
    /// <returns><see langword="true"/> when the key is present.</returns>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ConfigNode? value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? Entries[i].Value : null;
        return i >= 0;
    }

    /// <summary>Finds the entry of a key.</summary>
    /// <param name="key">The key, compared ordinally.</param>
    /// <returns>The index of the entry, or -1.</returns>
    public int IndexOf(string key)
    {
        if (Entries.Count <= 8)
        {
            for (var i = 0; i < Entries.Count; i++)
            {
                if (string.Equals(Entries[i].Key.Value, key, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }

        var index = _index ??= BuildIndex(Entries);
        return index.TryGetValue(key, out var found) ? found : -1;
    }

    private static Dictionary<string, int> BuildIndex(IReadOnlyList<ConfigEntry> entries)
    {
        var index = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            index.TryAdd(entries[i].Key.Value ?? string.Empty, i);
        }

        return index;
    }

    /// <inheritdoc />
    public override bool ContentEquals(ConfigNode? other)
    {
        if (other is not ConfigMapping map || map.Entries.Count != Entries.Count)
        {
            return false;
        }

        foreach (var entry in Entries)
        {
            if (!map.TryGetValue(entry.Key.Value ?? string.Empty, out var value) || !entry.Value.ContentEquals(value))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A YAML sequence.</summary>
public sealed class ConfigSequence : ConfigNode
{
    /// <summary>Creates a sequence.</summary>
    /// <param name="location">Where the sequence starts.</param>
    /// <param name="items">The items in document order.</param>
    public ConfigSequence(SourceLocation location, IReadOnlyList<ConfigNode> items)
        : base(location)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
    }

    /// <summary>The items in document order.</summary>
    public IReadOnlyList<ConfigNode> Items { get; }

    /// <inheritdoc />
    public override string KindName => "list";

    /// <inheritdoc />
    public override bool ContentEquals(ConfigNode? other)
    {
        if (other is not ConfigSequence seq || seq.Items.Count != Items.Count)
        {
            return false;
        }

        for (var i = 0; i < Items.Count; i++)
        {
            if (!Items[i].ContentEquals(seq.Items[i]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>What a scalar's text means under the YAML 1.2 core schema.</summary>
public enum ScalarKind
{
    /// <summary><c>~</c>, <c>null</c> or nothing.</summary>
    Null,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A whole number.</summary>
    Integer,

    /// <summary>A number with a fraction or exponent.</summary>
    Float,

    /// <summary>Anything else, and every quoted scalar.</summary>
    String,
}

/// <summary>A YAML scalar: its text and what that text means.</summary>
public sealed class ConfigScalar : ConfigNode
{
    /// <summary>Creates a scalar.</summary>
    /// <param name="location">Where the scalar starts.</param>
    /// <param name="value">The text; <see langword="null"/> only for YAML null.</param>
    /// <param name="kind">What the text means.</param>
    public ConfigScalar(SourceLocation location, string? value, ScalarKind kind)
        : base(location)
    {
        Value = kind == ScalarKind.Null ? null : value ?? string.Empty;
        Kind = kind;
    }

    /// <summary>The text, or <see langword="null"/> for YAML null.</summary>
    public string? Value { get; }

    /// <summary>What the text means.</summary>
    public ScalarKind Kind { get; }

    /// <summary>Whether the scalar is YAML null.</summary>
    public bool IsNull => Kind == ScalarKind.Null;

    /// <inheritdoc />
    public override string KindName => Kind switch
    {
        ScalarKind.Null => "null",
        ScalarKind.Boolean => "boolean",
        ScalarKind.Integer => "integer",
        ScalarKind.Float => "number",
        _ => "string",
    };

    /// <inheritdoc />
    public override bool ContentEquals(ConfigNode? other) =>
        other is ConfigScalar s && s.Kind == Kind && string.Equals(s.Value, Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Value ?? "null";
}
