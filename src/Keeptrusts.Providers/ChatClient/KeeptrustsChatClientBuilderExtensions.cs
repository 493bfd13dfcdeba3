using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.ChatClient;

/// <summary>Adds Keeptrusts policy enforcement to an <see cref="IChatClient"/> pipeline.</summary>
/// <remarks>
/// This package depends only on Microsoft.Extensions.AI.Abstractions, so it extends <see cref="IChatClient"/> itself. In
/// a <c>ChatClientBuilder</c> pipeline, add it with
/// <c>builder.Use((inner, services) =&gt; inner.UseKeeptrusts(services))</c>: the engine is then resolved from the
/// service provider when the pipeline is built.
/// </remarks>
public static class KeeptrustsChatClientBuilderExtensions
{
    /// <summary>Wraps <paramref name="innerClient"/> in a <see cref="KeeptrustsChatClient"/>.</summary>
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
                "UseKeeptrusts needs a PolicyEngine: pass one, or register one in the service collection (services.AddSingleton(PolicyEngine.Create(config))) and pass the service provider.");
        var client = new KeeptrustsChatClient(innerClient, engine);
        configure?.Invoke(client);
        return client;
    }
}
