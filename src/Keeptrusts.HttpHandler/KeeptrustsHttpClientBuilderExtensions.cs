using Keeptrusts.HttpHandler;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Keeptrusts policy enforcement to a named or typed <see cref="HttpClient"/>.</summary>
public static class KeeptrustsHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds the <see cref="KeeptrustsPolicyHandler"/> to the client's handler pipeline. Only configuration is queued
    /// here; the engine is built from the options the first time a handler is created for this client, once, and
    /// shared by every handler of the client. Calling it again for the same client adds no second handler; the
    /// configure actions apply in order.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Sets the policy source and behaviour; see <see cref="KeeptrustsPolicyOptions"/>.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddKeeptrustsPolicy(this IHttpClientBuilder builder, Action<KeeptrustsPolicyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.Name;
        if (configure is not null)
        {
            builder.Services.Configure(name, configure);
        }

        builder.Services.TryAddSingleton<KeeptrustsEngines>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeeptrustsPolicyOptions>, KeeptrustsPolicyOptionsValidator>());
        var registry = builder.Services.Where(static d => d.ServiceType == typeof(KeeptrustsHandlerRegistry)).Select(static d => d.ImplementationInstance).OfType<KeeptrustsHandlerRegistry>().FirstOrDefault();
        if (registry is null)
        {
            registry = new KeeptrustsHandlerRegistry();
            builder.Services.AddSingleton(registry);
        }

        if (!registry.Names.Add(name))
        {
            return builder;
        }

        builder.Services.AddOptions<KeeptrustsPolicyOptions>(name).ValidateOnStart();

        builder.AddHttpMessageHandler(services =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<KeeptrustsPolicyOptions>>().Get(name);
            var engine = services.GetRequiredService<KeeptrustsEngines>().Get(name);
            return new KeeptrustsPolicyHandler(engine, options);
        });
        return builder;
    }
}
