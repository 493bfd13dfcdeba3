using Keeptrusts.AspNetCore.Admin;
using Keeptrusts.AspNetCore.Endpoints;
using Keeptrusts.AspNetCore.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Keeptrusts gateway's endpoints.</summary>
public static class KeeptrustsGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the OpenAI-compatible surface (<c>POST /v1/chat/completions</c>, <c>GET /v1/models</c>), <c>GET /health</c>
    /// and the runtime API (<c>GET /keeptrusts/config</c>, <c>POST /keeptrusts/config/reload</c>,
    /// <c>GET /keeptrusts/providers/metrics</c>) and the MCP bridge (<c>/mcp/{target_id}</c> for each <c>provider: mcp</c>
    /// target). Loads the configuration now if the host has not yet, so a configuration
    /// with errors fails here with every finding.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder (usually the <c>WebApplication</c>).</param>
    /// <returns>A convention builder that applies to every gateway endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddKeeptrustsGateway()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapKeeptrustsGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<KeeptrustsGatewayMarker>() is null)
        {
            throw new InvalidOperationException(
                "The Keeptrusts gateway services are not registered: call services.AddKeeptrustsGateway() (builder.Services.AddKeeptrustsGateway(...)) before app.MapKeeptrustsGateway().");
        }

        _ = services.GetRequiredService<GatewayRuntime>();
        var chat = services.GetRequiredService<ChatCompletionsEndpoint>();
        var models = services.GetRequiredService<ModelsEndpoint>();
        var health = services.GetRequiredService<HealthEndpoint>();
        var admin = services.GetRequiredService<AdminEndpoints>();

        var builders = new[]
        {
            endpoints.MapPost("/v1/chat/completions", new RequestDelegate(chat.HandleAsync)).WithDisplayName("Keeptrusts chat completions"),
            endpoints.MapGet("/v1/models", new RequestDelegate(models.HandleAsync)).WithDisplayName("Keeptrusts models"),
            endpoints.MapGet("/health", new RequestDelegate(health.HandleAsync)).WithDisplayName("Keeptrusts health"),
            endpoints.MapGet("/keeptrusts/config", new RequestDelegate(admin.GetConfigAsync)).WithDisplayName("Keeptrusts running configuration"),
            endpoints.MapPost("/keeptrusts/config/reload", new RequestDelegate(admin.ReloadAsync)).WithDisplayName("Keeptrusts configuration reload"),
            endpoints.MapGet("/keeptrusts/providers/metrics", new RequestDelegate(admin.GetProviderMetricsAsync)).WithDisplayName("Keeptrusts provider metrics"),
            Keeptrusts.AspNetCore.Mcp.McpBridgeEndpoints.Map(endpoints),
        };

        return new CompositeConventionBuilder(builders);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
