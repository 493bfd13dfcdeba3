using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>A decision sink added with <c>AddDecisionSink</c>, resolved when the runtime starts.</summary>
internal sealed class DecisionSinkRegistration(Func<IServiceProvider, IDecisionSink> resolve)
{
    public Func<IServiceProvider, IDecisionSink> Resolve { get; } = resolve;
}

/// <summary>A gateway key resolver added with <c>UseGatewayKeyResolver</c>.</summary>
internal sealed class GatewayKeyResolverRegistration(Func<IServiceProvider, IGatewayKeyResolver> resolve)
{
    public Func<IServiceProvider, IGatewayKeyResolver> Resolve { get; } = resolve;
}

/// <summary>Marks that <c>AddKeeptrustsGateway</c> was called, so mapping without it fails with a clear message.</summary>
internal sealed class KeeptrustsGatewayMarker;

/// <summary>The gateway's builder.</summary>
internal sealed class KeeptrustsGatewayBuilder(Microsoft.Extensions.DependencyInjection.IServiceCollection services) : IKeeptrustsGatewayBuilder
{
    public Microsoft.Extensions.DependencyInjection.IServiceCollection Services { get; } = services;
}
