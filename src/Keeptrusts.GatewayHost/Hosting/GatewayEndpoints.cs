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
            if (token is null)
            {
                return Results.NotFound();
            }

            if (!Authorized(http, token))
            {
                return Results.Json(new { error = new { message = "a valid gateway token is required", type = "authentication_error", code = "unauthorized" } }, statusCode: 401);
            }

            var s = events.Status;
            return Results.Json(new { in_memory = s.InMemory, queued = s.Queued, spooled_bytes = s.SpooledBytes, sent = s.Sent, retried = s.Retried, dropped = s.Dropped });
        });
        return endpoints;
    }

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
