using Microsoft.Extensions.DependencyInjection;

namespace Keeptrusts.AspNetCore;

/// <summary>Configures the Keeptrusts gateway further; returned by <c>services.AddKeeptrustsGateway()</c>.</summary>
public interface IKeeptrustsGatewayBuilder
{
    /// <summary>The service collection the gateway is registered in.</summary>
    IServiceCollection Services { get; }
}
