using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.Policy.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>
/// <c>GET /health</c>: <c>ok</c> when every provider target can serve, <c>degraded</c> when some cannot (breaker open
/// or unhealthy), <c>unhealthy</c> when none can; 200 for the first two, 503 for the last. Open to everyone: it names
/// targets and states, never configuration values. Components the host registers (<see cref="IKeeptrustsHealthComponent"/>)
/// are reported beside the built-in ones without changing the overall status.
/// </summary>
internal sealed class HealthEndpoint(GatewayRuntime runtime, IEnumerable<IKeeptrustsHealthComponent> components, ILogger<HealthEndpoint> logger)
{
    private readonly IKeeptrustsHealthComponent[] _components = [.. components];

    public Task HandleAsync(HttpContext http) => EndpointGuard.RunAsync(http, logger, ReportAsync);

    private async Task ReportAsync(HttpContext http)
    {
        using var lease = runtime.Acquire();
        var snapshot = lease.Snapshot;
        var metrics = snapshot.Router.GetMetrics();
        var serving = metrics.Targets.Count(static t => CanServe(t));
        var status = serving == metrics.Targets.Count && serving > 0 ? "ok" : serving > 0 ? "degraded" : "unhealthy";
        var sinkFailures = snapshot.Engine.SinkFailures;
        await GatewayJson.WriteAsync(http, status == "unhealthy" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("status", status);
            writer.WriteString("revision", snapshot.Revision);
            writer.WriteStartObject("components");

            writer.WriteStartObject("config");
            writer.WriteString("status", "ok");
            writer.WriteString("revision", snapshot.Revision);
            writer.WriteString("loaded_at", snapshot.LoadedAt);
            writer.WriteNumber("warnings", snapshot.Diagnostics.Count);
            writer.WriteEndObject();

            writer.WriteStartObject("providers");
            writer.WriteString("status", status);
            writer.WriteNumber("serving", serving);
            writer.WriteNumber("total", metrics.Targets.Count);
            writer.WriteStartObject("targets");
            foreach (var target in metrics.Targets)
            {
                writer.WriteStartObject(target.TargetId);
                writer.WriteString("status", CanServe(target) ? "ok" : "unavailable");
                writer.WriteString("breaker", target.BreakerState switch
                {
                    TargetBreakerState.Open => "open",
                    TargetBreakerState.HalfOpen => "half_open",
                    _ => "closed",
                });
                writer.WriteBoolean("healthy", target.Healthy);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();

            writer.WriteStartObject("sinks");
            writer.WriteString("status", sinkFailures == 0 ? "ok" : "degraded");
            writer.WriteNumber("failures", sinkFailures);
            writer.WriteEndObject();

            foreach (var component in _components)
            {
                writer.WriteStartObject(component.Name);
                component.WriteHealth(writer);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static bool CanServe(TargetMetrics target) => target.Healthy && target.BreakerState != TargetBreakerState.Open;
}
