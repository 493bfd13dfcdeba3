using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Identity;

/// <summary>
/// Finds the owner of a gateway key (<c>kt_gk_…</c>) by the key's SHA-256. Plaintext keys never reach a resolver, so
/// neither a local key list nor a remote lookup ever holds or sends one. Implementations are thread-safe.
/// </summary>
public interface IGatewayKeyResolver
{
    /// <summary>Finds the entry whose hash is <paramref name="sha256Hex"/>.</summary>
    /// <param name="sha256Hex">Lowercase hex SHA-256 of the full key (see <see cref="GatewayKeys.Hash"/>).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The entry, or null when the key is unknown.</returns>
    ValueTask<GatewayKeyEntry?> FindAsync(string sha256Hex, CancellationToken cancellationToken);
}
