using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Identity;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>Asks each resolver in turn: the configuration's own keys first, then those added with <c>UseGatewayKeyResolver</c>.</summary>
internal sealed class CompositeGatewayKeyResolver(IReadOnlyList<IGatewayKeyResolver> resolvers) : IGatewayKeyResolver
{
    public async ValueTask<GatewayKeyEntry?> FindAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        foreach (var resolver in resolvers)
        {
            if (await resolver.FindAsync(sha256Hex, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                return entry;
            }
        }

        return null;
    }
}
