using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting;

/// <summary>What a lint rule sees: the bound model, the merged document with positions, and where to report.</summary>
internal sealed class LintContext(PolicyConfig config, ConfigMapping root, List<ConfigDiagnostic> diagnostics)
{
    public PolicyConfig Config { get; } = config;

    /// <summary>Whether any finding has been reported at exactly <paramref name="path"/>.</summary>
    public bool HasFindingAt(string path) => diagnostics.Exists(d => string.Equals(d.Path, path, StringComparison.Ordinal));

    /// <summary>Adds a finding produced elsewhere (for example by binding a policy's settings).</summary>
    public void Add(ConfigDiagnostic diagnostic) => diagnostics.Add(diagnostic);

    public ConfigMapping Root { get; } = root;

    /// <summary>Reports a finding at the node of <paramref name="path"/>, or its nearest existing ancestor.</summary>
    public void Report(string code, string message, string path, DiagnosticSeverity? severity = null) =>
        diagnostics.Add(new ConfigDiagnostic(code, severity ?? DiagnosticCodes.Catalog[code].Severity, message, LocationOf(path), path));

    /// <summary>
    /// Where a finding about <paramref name="path"/> should point: the value itself when it is a scalar, otherwise the
    /// key that introduces the block, which is the line a reader looks for.
    /// </summary>
    public SourceLocation LocationOf(string path)
    {
        var node = Locate(path);
        if (node is ConfigScalar || path.EndsWith(']'))
        {
            return node.Location;
        }

        var cut = path.LastIndexOf('.');
        var parent = cut > 0 ? ConfigPath.Find(Root, path[..cut]) : Root;
        var key = cut > 0 ? path[(cut + 1)..] : path;
        return parent is ConfigMapping map && map.IndexOf(key) is var i and >= 0 && ReferenceEquals(map.Entries[i].Value, node)
            ? map.Entries[i].Key.Location
            : node.Location;
    }

    /// <summary>The node at <paramref name="path"/>, or its nearest existing ancestor (the root at worst).</summary>
    public ConfigNode Locate(string path)
    {
        var current = path;
        while (current.Length > 0)
        {
            if (ConfigPath.Find(Root, current) is { } node)
            {
                return node;
            }

            var cut = Math.Max(current.LastIndexOf('.'), current.LastIndexOf('['));
            current = cut > 0 ? current[..cut] : string.Empty;
        }

        return Root;
    }
}

/// <summary>A semantic check over a loaded configuration. Rules report every finding; they never throw on bad input.</summary>
internal interface IConfigRule
{
    void Check(LintContext context);
}
