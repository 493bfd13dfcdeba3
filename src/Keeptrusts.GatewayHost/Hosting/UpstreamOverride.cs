using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>
/// <c>--upstream</c>: the break-glass override. Every configured target is served as an OpenAI-compatible target at
/// the override URL (its id, model and pricing stay, so pinning, routing and spend limits behave as configured), with
/// the <c>--upstream-api-key</c> credential when one is given. Applied to every configuration, including reloads.
/// </summary>
internal sealed class UpstreamOverrideFactory(IProviderClientFactory inner, Uri upstream) : IProviderClientFactory
{
    private readonly string _baseUrl = upstream.AbsoluteUri.TrimEnd('/');

    public IProviderClient Create(ProviderTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return inner.Create(target with
        {
            Provider = "openai",
            Format = "openai",
            ProviderType = null,
            BaseUrl = _baseUrl,
            AdapterCommand = null,
            PathTemplate = null,
        });
    }

    /// <summary>Wraps whatever <see cref="IProviderClientFactory"/> is registered last.</summary>
    public static void Register(IServiceCollection services, Uri upstream)
    {
        var registered = services.LastOrDefault(static d => d.ServiceType == typeof(IProviderClientFactory))
            ?? throw new InvalidOperationException("No provider client factory is registered to override.");
        services.Remove(registered);
        services.AddSingleton<IProviderClientFactory>(sp => new UpstreamOverrideFactory(Resolve(sp, registered), upstream));
    }

    private static IProviderClientFactory Resolve(IServiceProvider services, ServiceDescriptor descriptor) => descriptor switch
    {
        { ImplementationInstance: IProviderClientFactory instance } => instance,
        { ImplementationFactory: { } factory } => (IProviderClientFactory)factory(services),
        { ImplementationType: { } type } => (IProviderClientFactory)ActivatorUtilities.CreateInstance(services, type),
        _ => throw new InvalidOperationException("The provider client factory registration cannot be wrapped."),
    };
}
