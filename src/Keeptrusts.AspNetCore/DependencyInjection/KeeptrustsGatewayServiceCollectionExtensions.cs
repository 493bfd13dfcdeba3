using Keeptrusts.AspNetCore;
using Keeptrusts.AspNetCore.Admin;
using Keeptrusts.AspNetCore.Endpoints;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.AspNetCore.Telemetry;
using Keeptrusts.Providers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Keeptrusts gateway in a service collection.</summary>
public static class KeeptrustsGatewayServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Keeptrusts gateway: the runtime that loads and hot-reloads the configuration, the provider
    /// adapters, and the endpoints that <c>app.MapKeeptrustsGateway()</c> maps. The configuration is loaded when the
    /// host starts; options with problems, or a configuration with errors, stop start-up with every finding listed.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options: configuration files, fail mode, admin token, limits.</param>
    /// <returns>A builder for decision sinks and gateway key resolvers.</returns>
    public static IKeeptrustsGatewayBuilder AddKeeptrustsGateway(this IServiceCollection services, Action<KeeptrustsGatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<KeeptrustsGatewayOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeeptrustsGatewayOptions>, KeeptrustsGatewayOptionsValidator>());
        services.AddMetrics();
        services.AddLogging();
        services.AddKeeptrustsProviders();

        if (!services.Any(static d => d.ServiceType == typeof(KeeptrustsGatewayMarker)))
        {
            services.AddSingleton<KeeptrustsGatewayMarker>();
            services.AddSingleton<GatewayMetrics>();
            services.AddSingleton<GatewayRuntime>();
            services.AddSingleton<IKeeptrustsGatewayRuntime>(static sp => sp.GetRequiredService<GatewayRuntime>());
            services.AddSingleton<ChatCompletionsEndpoint>();
            services.AddSingleton<ModelsEndpoint>();
            services.AddSingleton<HealthEndpoint>();
            services.AddSingleton<AdminEndpoints>();
            Keeptrusts.AspNetCore.Mcp.McpBridgeEndpoints.AddServices(services);
            services.AddSingleton<GatewayStartup>();
            services.AddHostedService(static sp => sp.GetRequiredService<GatewayStartup>());
        }

        return new KeeptrustsGatewayBuilder(services);
    }
}
