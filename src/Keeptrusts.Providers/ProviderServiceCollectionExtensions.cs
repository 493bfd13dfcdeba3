using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Factory;
using Keeptrusts.Providers.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Keeptrusts.Providers;

/// <summary>Registers the provider adapters in a service container.</summary>
public static class ProviderServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IProviderClientFactory"/> with its HTTP clients from <see cref="IHttpClientFactory"/>: one named
    /// client per upstream origin (<c>Keeptrusts.Providers:{origin}</c>) over a pooled <see cref="SocketsHttpHandler"/>.
    /// An <see cref="ISecretResolver"/> registered in the container is used for <c>secret_key_ref.store</c> when
    /// <see cref="ProviderClientOptions.SecretResolver"/> is not set; likewise the container's <see cref="ILoggerFactory"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options (credential header and prefix, response cap, clock, secret resolver).</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddKeeptrustsProviders(this IServiceCollection services, Action<ProviderClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHttpClient();
        var options = services.AddOptions<ProviderClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HttpClientFactoryOptions>, ProviderHttpClientSetup>());
        services.TryAddSingleton<IProviderClientFactory>(static provider =>
        {
            var settings = provider.GetRequiredService<IOptions<ProviderClientOptions>>().Value;
            return new ProviderClientFactoryCore(
                settings,
                settings.SecretResolver ?? provider.GetService<ISecretResolver>(),
                new FactoryHttpClientSource(provider.GetRequiredService<IHttpClientFactory>()),
                settings.LoggerFactory ?? provider.GetService<ILoggerFactory>());
        });

        return services;
    }
}
