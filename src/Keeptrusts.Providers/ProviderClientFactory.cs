using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Factory;
using Keeptrusts.Providers.Http;

namespace Keeptrusts.Providers;

/// <summary>Creates provider client factories without dependency injection.</summary>
public static class ProviderClientFactory
{
    /// <summary>
    /// Creates a factory that serves every supported provider family. HTTP connections are pooled per upstream origin in
    /// long-lived handlers shared by the process, honouring HTTP_PROXY, HTTPS_PROXY and NO_PROXY. The options are
    /// read once, now; later changes to <paramref name="options"/> do not affect the factory.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public static IProviderClientFactory Create(ProviderClientOptions? options = null)
    {
        options ??= new ProviderClientOptions();
        return new ProviderClientFactoryCore(options, options.SecretResolver, SharedHttpClientSource.Instance, options.LoggerFactory);
    }
}
