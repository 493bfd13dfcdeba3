using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Keeptrusts.AspNetCore;

/// <summary>Extensions of <see cref="IKeeptrustsGatewayBuilder"/>.</summary>
public static class KeeptrustsGatewayBuilderExtensions
{
    /// <summary>Sends every decision record to <paramref name="sink"/> as well.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="sink">The sink.</param>
    /// <returns>The builder.</returns>
    public static IKeeptrustsGatewayBuilder AddDecisionSink(this IKeeptrustsGatewayBuilder builder, IDecisionSink sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        builder.Services.AddSingleton(new DecisionSinkRegistration(_ => sink));
        return builder;
    }

    /// <summary>Sends every decision record to a <typeparamref name="TSink"/> resolved from the service provider as well.</summary>
    /// <typeparam name="TSink">The sink type; registered as a singleton when it is not registered yet.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IKeeptrustsGatewayBuilder AddDecisionSink<TSink>(this IKeeptrustsGatewayBuilder builder)
        where TSink : class, IDecisionSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TSink>();
        builder.Services.AddSingleton(new DecisionSinkRegistration(static sp => sp.GetRequiredService<TSink>()));
        return builder;
    }

    /// <summary>
    /// Resolves gateway keys (<c>kt_gk_…</c>) through <paramref name="resolver"/> when the keys of the configuration
    /// (<c>runtime_identity.gateway_keys</c> and <c>gateway_keys_file</c>) do not know them, e.g. from a control plane.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="resolver">The resolver.</param>
    /// <returns>The builder.</returns>
    public static IKeeptrustsGatewayBuilder UseGatewayKeyResolver(this IKeeptrustsGatewayBuilder builder, IGatewayKeyResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resolver);
        builder.Services.AddSingleton(new GatewayKeyResolverRegistration(_ => resolver));
        return builder;
    }

    /// <summary>Resolves unknown gateway keys through a <typeparamref name="TResolver"/> from the service provider.</summary>
    /// <typeparam name="TResolver">The resolver type; registered as a singleton when it is not registered yet.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IKeeptrustsGatewayBuilder UseGatewayKeyResolver<TResolver>(this IKeeptrustsGatewayBuilder builder)
        where TResolver : class, IGatewayKeyResolver
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TResolver>();
        builder.Services.AddSingleton(new GatewayKeyResolverRegistration(static sp => sp.GetRequiredService<TResolver>()));
        return builder;
    }
}
