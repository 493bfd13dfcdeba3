using System.Security.Cryptography;
using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Identity;

/// <summary>
/// Resolves keys from a fixed list of hashed entries. Every lookup compares the presented hash with every entry in
/// constant time and never stops early, so response timing says nothing about which keys exist.
/// </summary>
internal sealed class LocalGatewayKeyResolver : IGatewayKeyResolver
{
    private readonly (byte[] Hash, GatewayKeyEntry Entry)[] _entries;

    public LocalGatewayKeyResolver(IReadOnlyList<GatewayKeyEntry> entries) =>
        _entries = entries.Select(static e => (Convert.FromHexString(e.Sha256), e)).ToArray();

    public int Count => _entries.Length;

    public ValueTask<GatewayKeyEntry?> FindAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256Hex);
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        if (sha256Hex.Length != SHA256.HashSizeInBytes * 2 || Convert.FromHexString(sha256Hex, presented, out _, out var written) != System.Buffers.OperationStatus.Done || written != presented.Length)
        {
            return ValueTask.FromResult<GatewayKeyEntry?>(null);
        }

        GatewayKeyEntry? found = null;
        foreach (var (hash, entry) in _entries)
        {
            // No early exit: the loop takes the same time wherever (or whether) the key is found.
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                found = entry;
            }
        }

        return ValueTask.FromResult(found);
    }
}
