using System.Security.Cryptography;
using System.Text;
using Keeptrusts.GatewayHost.Reporting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>What <c>kt gateway run</c> adds to the endpoints of <c>Keeptrusts.AspNetCore</c>.</summary>
internal static class GatewayEndpoints
{
    /// <summary>The response header that correlates an answer with its events and log lines.</summary>
    public const string RequestIdHeader = "X-Keeptrusts-Request-Id";

    /// <summary>
    /// Every answer carries <c>X-Keeptrusts-Request-Id</c>: the chat endpoint sets its own (the one in its events);
    /// any other answer — health, models, the runtime API, a 404 — gets a fresh one.
    /// </summary>
    public static IApplicationBuilder UseRequestIdOnEveryAnswer(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                if (!headers.ContainsKey(RequestIdHeader))
                {
                    headers[RequestIdHeader] = "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
                }

                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });

    /// <summary>
    /// <c>GET /keeptrusts/events/status</c> (gateway token): the event pipeline's counters — in memory, queued,
    /// spooled bytes, sent, retried, dropped. 404 without a token, like the rest of the runtime API.
    /// </summary>
    public static IEndpointRouteBuilder MapEventReportingStatus(this IEndpointRouteBuilder endpoints, ControlPlaneEventSink events, string? token)
    {
        endpoints.MapGet("/keeptrusts/events/status", (HttpContext http) =>
        {
            if (RefuseUnlessAuthorized(http, token) is { } refusal)
            {
                return refusal;
            }

            var s = events.Status;
            return Results.Json(new { in_memory = s.InMemory, queued = s.Queued, spooled_bytes = s.SpooledBytes, sent = s.Sent, retried = s.Retried, dropped = s.Dropped });
        });
        return endpoints;
    }

    /// <summary>
    /// <c>GET /keeptrusts/tenants</c> (gateway token, hosted mode): each tenant's key id, owner, team, configuration
    /// version, revision and state — never a key, a configuration or a variable.
    /// </summary>
    public static IEndpointRouteBuilder MapHostedTenants(this IEndpointRouteBuilder endpoints, Tenancy.HostedTenants tenants, string? token)
    {
        endpoints.MapGet("/keeptrusts/tenants", (HttpContext http) =>
        {
            if (RefuseUnlessAuthorized(http, token) is { } refusal)
            {
                return refusal;
            }

            return Results.Json(new
            {
                tenants = tenants.Views().Select(static t => new
                {
                    key_id = t.KeyId,
                    owner = t.Owner,
                    team = t.Team,
                    config_version = t.ConfigVersion,
                    revision = t.Revision,
                    state = t.State,
                    loaded_at = t.LoadedAt,
                    resolved_at = t.ResolvedAt,
                }),
            });
        });
        return endpoints;
    }

    /// <summary>
    /// Null when the caller presented the gateway token; else the refusal: 404 when no token is configured (the
    /// endpoint does not exist, like the rest of the runtime API), 401 for a missing or wrong one.
    /// </summary>
    internal static IResult? RefuseUnlessAuthorized(HttpContext http, string? token) =>
        token is null ? Results.NotFound()
        : Authorized(http, token) ? null
        : Results.Json(new { error = new { message = "a valid gateway token is required", type = "authentication_error", code = "unauthorized" } }, statusCode: 401);

    internal static bool Authorized(HttpContext http, string token)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim())),
            SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }
}
