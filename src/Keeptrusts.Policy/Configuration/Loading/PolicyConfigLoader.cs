using System.Globalization;
using System.Text;
using Keeptrusts.Policy.Configuration.Layering;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Linting;

namespace Keeptrusts.Policy.Configuration;

/// <summary>
/// Loads <c>policy-config.yaml</c> documents: reads and parses each layer, merges them in order (the later layer
/// wins, see <c>docs/configuration.md</c>), binds the model and runs every lint rule. A configuration with any
/// error is never returned, so nothing can enforce a half-understood document.
/// </summary>
public static class PolicyConfigLoader
{
    /// <summary>The largest configuration file accepted, in bytes (4 MiB).</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Loads and layers configuration files, in order.</summary>
    /// <param name="paths">The files; later files override earlier ones.</param>
    /// <returns>The configuration when it has no errors, and every finding.</returns>
    public static PolicyConfigLoadResult LoadFiles(IEnumerable<string> paths) => LoadFiles(paths, []);

    /// <summary>Loads and layers configuration files, in order, then documents given as text.</summary>
    /// <param name="paths">The files; later files override earlier ones.</param>
    /// <param name="afterFiles">Documents layered after the files (such as one held in memory), in order.</param>
    /// <returns>The configuration when it has no errors, and every finding.</returns>
    public static PolicyConfigLoadResult LoadFiles(IEnumerable<string> paths, IEnumerable<PolicyConfigSource> afterFiles)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(afterFiles);
        var diagnostics = new List<ConfigDiagnostic>();
        var sources = new List<PolicyConfigSource>();
        var order = new List<PolicyConfigSource>();
        var allRead = true;
        foreach (var path in paths)
        {
            order.Add(new PolicyConfigSource(path, string.Empty));
            if (TryReadFile(path, diagnostics) is { } text)
            {
                sources.Add(new PolicyConfigSource(path, text));
            }
            else
            {
                allRead = false;
            }
        }

        foreach (var layer in afterFiles)
        {
            order.Add(layer);
            sources.Add(layer);
        }

        if (allRead)
        {
            return Parse(sources);
        }

        // The layers that could be read are still parsed, so their own findings are reported too; merging and the
        // semantic rules wait for a complete set, since a partial merge would report misleading findings.
        foreach (var source in sources)
        {
            Lint([source], diagnostics, mergeAndCheck: false);
        }

        Sort(diagnostics, order);
        return new PolicyConfigLoadResult { Diagnostics = diagnostics };
    }

    /// <summary>Loads one configuration document from text.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="sourceName">The name findings use for this text.</param>
    /// <returns>The configuration when it has no errors, and every finding.</returns>
    public static PolicyConfigLoadResult Parse(string yaml, string sourceName = "policy-config.yaml") =>
        Parse([new PolicyConfigSource(sourceName, yaml)]);

    /// <summary>Loads and layers configuration documents from text, in order.</summary>
    /// <param name="layers">The layers; later layers override earlier ones.</param>
    /// <returns>The configuration when it has no errors, and every finding.</returns>
    public static PolicyConfigLoadResult Parse(IReadOnlyList<PolicyConfigSource> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var diagnostics = new List<ConfigDiagnostic>();
        var config = Lint(layers, diagnostics);
        Sort(diagnostics, layers);
        var hasErrors = diagnostics.Exists(static d => d.Severity == DiagnosticSeverity.Error);
        return new PolicyConfigLoadResult { Config = hasErrors ? null : config, Diagnostics = diagnostics };
    }

    internal static PolicyConfig? Lint(IReadOnlyList<PolicyConfigSource> layers, List<ConfigDiagnostic> diagnostics, bool mergeAndCheck = true)
    {
        if (layers.Count == 0)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.EmptyDocument, DiagnosticSeverity.Error, "no configuration was given", SourceLocation.OfFile("<none>"), string.Empty));
            return null;
        }

        var roots = new List<ConfigNode?>(layers.Count);
        var readable = true;
        foreach (var layer in layers)
        {
            // Cheap first: a string never needs fewer UTF-8 bytes than it has characters.
            var size = layer.Text.Length > MaxFileBytes ? layer.Text.Length : Encoding.UTF8.GetByteCount(layer.Text);
            if (size > MaxFileBytes)
            {
                diagnostics.Add(TooLarge(layer.Name, size));
                readable = false;
                continue;
            }

            var root = YamlDocumentReader.Read(layer.Text, layer.Name, diagnostics);
            if (root is null)
            {
                readable = false;
                continue;
            }

            if (root is not ConfigMapping)
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.RootNotMapping, DiagnosticSeverity.Error, $"the document is a {root.KindName}; a policy configuration is a mapping with keys such as 'pack', 'policies' and 'providers'", root.Location, string.Empty));
                readable = false;
                continue;
            }

            roots.Add(root);
        }

        if (!readable || !mergeAndCheck)
        {
            return null;
        }

        var merged = (ConfigMapping)ConfigMerger.MergeAll(roots)!;
        return PolicyLinter.Lint(merged, diagnostics);
    }

    private static string? TryReadFile(string path, List<ConfigDiagnostic> diagnostics)
    {
        var location = SourceLocation.OfFile(path);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.FileNotFound, DiagnosticSeverity.Error, Directory.Exists(path) ? "is a directory, not a configuration file" : "file not found", location, string.Empty));
                return null;
            }

            if (info.Length > MaxFileBytes)
            {
                diagnostics.Add(TooLarge(path, info.Length));
                return null;
            }

            var bytes = File.ReadAllBytes(path);
            var start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
            var nul = bytes.AsSpan(start).IndexOf((byte)0);
            if (nul >= 0)
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.NotText, DiagnosticSeverity.Error, "the file is binary (it contains NUL bytes), not YAML text", LocateByte(path, bytes, start + nul), string.Empty));
                return null;
            }

            try
            {
                return StrictUtf8.GetString(bytes, start, bytes.Length - start);
            }
            catch (DecoderFallbackException ex)
            {
                var offset = start + Math.Max(0, ex.Index);
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.NotText, DiagnosticSeverity.Error, "the file is not valid UTF-8 text; save it as UTF-8", LocateByte(path, bytes, offset), string.Empty));
                return null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.FileUnreadable, DiagnosticSeverity.Error, $"cannot read the file: {ex.Message}", location, string.Empty));
            return null;
        }
    }

    private static SourceLocation LocateByte(string path, byte[] bytes, int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset && i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new SourceLocation(path, line, offset - lineStart + 1);
    }

    private static ConfigDiagnostic TooLarge(string name, long size) =>
        new(DiagnosticCodes.FileTooLarge, DiagnosticSeverity.Error, string.Create(CultureInfo.InvariantCulture, $"the file is {size / 1024.0 / 1024.0:0.#} MiB; configuration files are limited to {MaxFileBytes / 1024 / 1024} MiB"), SourceLocation.OfFile(name), string.Empty);

    private static void Sort(List<ConfigDiagnostic> diagnostics, IReadOnlyList<PolicyConfigSource> layers)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Count; i++)
        {
            order.TryAdd(layers[i].Name, i);
        }

        var indexed = diagnostics.Select((d, i) => (d, i)).ToList();
        indexed.Sort((x, y) =>
        {
            var fx = order.GetValueOrDefault(x.d.Location.File, int.MaxValue);
            var fy = order.GetValueOrDefault(y.d.Location.File, int.MaxValue);
            var c = fx.CompareTo(fy);
            c = c != 0 ? c : x.d.Location.Line.CompareTo(y.d.Location.Line);
            c = c != 0 ? c : x.d.Location.Column.CompareTo(y.d.Location.Column);
            return c != 0 ? c : x.i.CompareTo(y.i);
        });
        diagnostics.Clear();
        diagnostics.AddRange(indexed.Select(static p => p.d));
    }
}
