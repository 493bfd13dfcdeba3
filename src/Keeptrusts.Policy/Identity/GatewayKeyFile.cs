using System.Text;
using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Linting;

namespace Keeptrusts.Policy.Identity;

/// <summary>Reads <c>runtime_identity.gateway_keys_file</c> and checks gateway key entries.</summary>
internal static partial class GatewayKeyFile
{
    private const string ListKey = "gateway_keys";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Where a path of the configuration points, for findings about entries that came from it.</summary>
    public static SourceLocation LocationOf(PolicyConfig config, string path) =>
        config.LocationOf(path);

    /// <summary>Resolves a relative path against the directory of the configuration file that set it.</summary>
    public static string ResolvePath(PolicyConfig config, string file)
    {
        if (Path.IsPathRooted(file))
        {
            return file;
        }

        var setBy = LocationOf(config, "runtime_identity.gateway_keys_file").File;
        var directory = File.Exists(setBy) ? Path.GetDirectoryName(Path.GetFullPath(setBy)) : null;
        return directory is null ? Path.GetFullPath(file) : Path.Combine(directory, file);
    }

    /// <summary>Reads the entries of a key file; problems become diagnostics pointing into the file.</summary>
    public static IEnumerable<(GatewayKeyEntry Entry, SourceLocation Location, string Path)> Read(string path, List<ConfigDiagnostic> diagnostics)
    {
        var text = ReadText(path, diagnostics);
        if (text is null)
        {
            return [];
        }

        var root = YamlDocumentReader.Read(text, path, diagnostics);
        ConfigMapping document;
        switch (root)
        {
            case null:
                return [];
            case ConfigSequence list:
                document = new ConfigMapping(list.Location, [new ConfigEntry(new ConfigScalar(list.Location, ListKey, ScalarKind.String), list)]);
                break;
            case ConfigMapping map:
                document = map;
                break;
            default:
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.RootNotMapping, DiagnosticSeverity.Error, $"a gateway keys file is a list of entries (id, sha256, owner, team, scopes) or a mapping with a '{ListKey}' list; found a {root.KindName}", root.Location, string.Empty));
                return [];
        }

        var bound = new ConfigBinder(diagnostics).Bind<GatewayKeyFileDocument>(document, string.Empty);
        var entries = new List<(GatewayKeyEntry, SourceLocation, string)>(bound.GatewayKeys.Count);
        for (var i = 0; i < bound.GatewayKeys.Count; i++)
        {
            var entryPath = ConfigPath.Index(ListKey, i);
            entries.Add((bound.GatewayKeys[i], ConfigPath.Find(document, entryPath)?.Location ?? document.Location, entryPath));
        }

        return entries;
    }

    /// <summary>Checks hashes and uniqueness across every entry, wherever it came from.</summary>
    public static void CheckEntries(IReadOnlyList<(GatewayKeyEntry Entry, SourceLocation Location, string Path)> entries, List<ConfigDiagnostic> diagnostics)
    {
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (entry, location, path) in entries)
        {
            if (entry.Sha256.Length > 0 && !Sha256Hex().IsMatch(entry.Sha256))
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, "sha256 must be the 64-character lowercase hex SHA-256 of the key, never the key itself", location, path + ".sha256"));
            }
            else if (entry.Sha256.Length > 0 && !hashes.Add(entry.Sha256))
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, $"gateway key '{entry.Id}' has the same sha256 as an earlier entry: each key belongs to exactly one owner", location, path + ".sha256"));
            }

            if (entry.Id.Length > 0 && !ids.Add(entry.Id))
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.InvalidValue, DiagnosticSeverity.Error, $"gateway key id '{entry.Id}' is used by an earlier entry; ids name keys in records and must be unique", location, path + ".id"));
            }
        }
    }

    private static string? ReadText(string path, List<ConfigDiagnostic> diagnostics)
    {
        var location = SourceLocation.OfFile(path);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.FileNotFound, DiagnosticSeverity.Error, "gateway keys file not found (runtime_identity.gateway_keys_file)", location, string.Empty));
                return null;
            }

            if (info.Length > PolicyConfigLoader.MaxFileBytes)
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.FileTooLarge, DiagnosticSeverity.Error, $"the gateway keys file is larger than {PolicyConfigLoader.MaxFileBytes / 1024 / 1024} MiB", location, string.Empty));
                return null;
            }

            var bytes = File.ReadAllBytes(path);
            var start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
            if (bytes.AsSpan(start).Contains((byte)0))
            {
                diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.NotText, DiagnosticSeverity.Error, "the gateway keys file is binary, not JSON or YAML text", location, string.Empty));
                return null;
            }

            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.NotText, DiagnosticSeverity.Error, "the gateway keys file is not valid UTF-8 text", location, string.Empty));
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticCodes.FileUnreadable, DiagnosticSeverity.Error, $"cannot read the gateway keys file: {ex.GetType().Name}", location, string.Empty));
            return null;
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}

/// <summary>The shape of a gateway keys file.</summary>
internal sealed record GatewayKeyFileDocument
{
    public IReadOnlyList<GatewayKeyEntry> GatewayKeys { get; init; } = [];
}
