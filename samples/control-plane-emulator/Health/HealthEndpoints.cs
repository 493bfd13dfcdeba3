namespace Keeptrusts.ControlPlaneEmulator.Health;

/// <summary><c>GET /health</c>.</summary>
public static class HealthEndpoints
{
    /// <summary>Maps <c>GET /health</c> → <c>200 {"status":"ok"}</c>.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", () => Results.Json(new { status = "ok" }));
        return endpoints;
    }
}
