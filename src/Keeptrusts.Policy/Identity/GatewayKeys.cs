using System.Security.Cryptography;
using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Identity;

/// <summary>Gateway keys (<c>kt_gk_…</c>): recognising them, hashing them, and loading the locally known ones.</summary>
public static class GatewayKeys
{
    /// <summary>The prefix every gateway key starts with.</summary>
    public const string Prefix = "kt_gk_";

    /// <summary>The longest key accepted; longer bearer values are refused before hashing.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Whether <paramref name="token"/> has the shape of a gateway key (the prefix, then printable ASCII).</summary>
    /// <param name="token">A bearer token.</param>
    /// <returns>True for a gateway key.</returns>
    public static bool IsGatewayKey(ReadOnlySpan<char> token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length <= Prefix.Length || token.Length > MaxKeyLength)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The lowercase hex SHA-256 of a key, the form in which keys are configured and looked up.</summary>
    /// <param name="key">The full key, prefix included.</param>
    /// <returns>64 lowercase hex characters.</returns>
    public static string Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>
    /// Builds the resolver for the keys a configuration knows locally: <c>runtime_identity.gateway_keys</c> and the
    /// entries of <c>runtime_identity.gateway_keys_file</c> (JSON or YAML: a list of entries, or a mapping with a
    /// <c>gateway_keys</c> list). A relative file path is resolved against the directory of the configuration file
    /// that set it. Every problem is reported as a diagnostic with its position; no resolver is returned then.
    /// </summary>
    /// <param name="config">The configuration.</param>
    /// <returns>The resolver (possibly knowing no key at all) and every finding.</returns>
    public static GatewayKeyLoadResult LoadLocal(PolicyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var diagnostics = new List<ConfigDiagnostic>();
        var identity = config.RuntimeIdentity;
        var entries = new List<(GatewayKeyEntry Entry, SourceLocation Location, string Path)>();
        for (var i = 0; i < identity.GatewayKeys.Count; i++)
        {
            var path = $"runtime_identity.gateway_keys[{i}]";
            entries.Add((identity.GatewayKeys[i], GatewayKeyFile.LocationOf(config, path), path));
        }

        if (identity.GatewayKeysFile is { Length: > 0 } file)
        {
            var resolved = GatewayKeyFile.ResolvePath(config, file);
            entries.AddRange(GatewayKeyFile.Read(resolved, diagnostics));
        }

        GatewayKeyFile.CheckEntries(entries, diagnostics);
        if (diagnostics.Exists(static d => d.Severity == DiagnosticSeverity.Error))
        {
            return new GatewayKeyLoadResult { Diagnostics = diagnostics };
        }

        var known = entries.Select(static e => e.Entry).ToArray();
        return new GatewayKeyLoadResult
        {
            Resolver = new LocalGatewayKeyResolver(known),
            KeyCount = known.Length,
            Fingerprint = Fingerprint(known),
            Diagnostics = diagnostics,
        };
    }

    /// <summary>A digest of every entry, so a changed key file makes a new configuration revision.</summary>
    private static string Fingerprint(IReadOnlyList<GatewayKeyEntry> entries)
    {
        var text = new StringBuilder();
        foreach (var entry in entries.OrderBy(static e => e.Sha256, StringComparer.Ordinal))
        {
            text.Append(entry.Id).Append('\0').Append(entry.Sha256).Append('\0').Append(entry.Owner).Append('\0')
                .Append(entry.Team).Append('\0').AppendJoin(',', entry.Scopes).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

/// <summary>The outcome of <see cref="GatewayKeys.LoadLocal"/>.</summary>
public sealed record GatewayKeyLoadResult
{
    /// <summary>The resolver; null when any finding is an error.</summary>
    public IGatewayKeyResolver? Resolver { get; init; }

    /// <summary>How many keys the resolver knows.</summary>
    public int KeyCount { get; init; }

    /// <summary>A digest of every known entry (hashes, owners, scopes): equal for equal key sets.</summary>
    public string Fingerprint { get; init; } = string.Empty;

    /// <summary>Every finding, errors and warnings.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; init; } = [];
}
