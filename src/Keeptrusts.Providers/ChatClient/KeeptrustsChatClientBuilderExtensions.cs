using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.ChatClient;

/// <summary>Adds Keeptrusts policy enforcement to an <see cref="IChatClient"/> pipeline.</summary>
public static class KeeptrustsChatClientBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="KeeptrustsChatClient"/> to the pipeline: every request and answer that passes through it is
    /// evaluated by the policy chain.
    /// </summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="engine">The engine; null to resolve a <see cref="PolicyEngine"/> from the builder's service provider when the pipeline is built.</param>
    /// <param name="configure">Configures the decorator (identity, for instance).</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <remarks>
    /// When <paramref name="engine"/> is null and no engine is registered, <see cref="ChatClientBuilder.Build"/>
    /// throws an <see cref="InvalidOperationException"/> that says how to register one.
    /// </remarks>
    public static ChatClientBuilder UseKeeptrusts(this ChatClientBuilder builder, PolicyEngine? engine = null, Action<KeeptrustsChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((innerClient, services) => innerClient.UseKeeptrusts(services, engine, configure));
    }

    /// <summary>Wraps <paramref name="innerClient"/> in a <see cref="KeeptrustsChatClient"/>, outside a <see cref="ChatClientBuilder"/>.</summary>
    /// <param name="innerClient">The client that talks to the model.</param>
    /// <param name="services">Where to find the <see cref="PolicyEngine"/> when <paramref name="engine"/> is null.</param>
    /// <param name="engine">The engine; null to resolve it from <paramref name="services"/>.</param>
    /// <param name="configure">Configures the decorator (identity, for instance).</param>
    /// <returns>The decorator.</returns>
    /// <exception cref="InvalidOperationException">No engine was given and none is registered.</exception>
    public static KeeptrustsChatClient UseKeeptrusts(this IChatClient innerClient, IServiceProvider? services = null, PolicyEngine? engine = null, Action<KeeptrustsChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(innerClient);
        engine ??= services?.GetService(typeof(PolicyEngine)) as PolicyEngine
            ?? throw new InvalidOperationException(
                "UseKeeptrusts needs a PolicyEngine: pass one, or register one in the service collection (services.AddSingleton(PolicyEngine.Create(config))).");
        var client = new KeeptrustsChatClient(innerClient, engine);
        configure?.Invoke(client);
        return client;
    }
}
