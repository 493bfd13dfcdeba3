using System.Globalization;
using System.Text.Json;
using Keeptrusts.AspNetCore.Endpoints;
using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace Keeptrusts.AspNetCore.Mcp;

/// <summary>
/// <c>/mcp/{target_id}</c>: the MCP bridge, served over Streamable HTTP by the official SDK for every
/// <c>provider: mcp</c> target. Before the SDK sees a request, the target is checked and the caller identified and
/// rate-limited exactly as for chat requests; refusals are JSON-RPC error bodies with a matching HTTP status.
/// </summary>
internal static class McpBridgeEndpoints
{
    public const string Pattern = "/mcp/{target_id}";
    private const string SessionKey = "keeptrusts.mcp.session";
    private const string McpFamily = "mcp";

    public static void AddServices(IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddSingleton<McpUpstreamConnector>();
        services.AddMcpServer().WithHttpTransport(static options =>
        {
            // Sessions are kept: the bridge holds the upstream session and the tool list per caller session.
            options.Stateless = false;
            options.ConfigureSessionOptions = static (http, serverOptions, _) =>
            {
                var targetId = (string)http.GetRouteValue("target_id")!;
                var caller = http.Items[McpBridgeSession.CallerKey] as RequestContext ?? new RequestContext();
                var session = new McpBridgeSession(
                    targetId,
                    http.RequestServices.GetRequiredService<GatewayRuntime>(),
                    http.RequestServices.GetRequiredService<McpUpstreamConnector>(),
                    http.RequestServices.GetRequiredService<IHttpContextAccessor>(),
                    caller);
                session.Configure(serverOptions);
                http.Items[SessionKey] = session;
                return Task.CompletedTask;
            };
#pragma warning disable MCPEXP002 // The only hook that sees a session end; the upstream session must close with it.
            options.RunSessionHandler = static async (http, server, cancellationToken) =>
            {
                var session = http.Items[SessionKey] as McpBridgeSession;
                try
                {
                    await server.RunAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (session is not null)
                    {
                        await session.DisposeAsync().ConfigureAwait(false);
                    }
                }
            };
#pragma warning restore MCPEXP002
        });
    }

    public static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var builder = endpoints.MapMcp(Pattern);
        var runtime = endpoints.ServiceProvider.GetRequiredService<GatewayRuntime>();
        builder.Add(endpoint =>
        {
            var inner = endpoint.RequestDelegate;
            if (inner is null)
            {
                return;
            }

            endpoint.RequestDelegate = http => GuardAsync(http, runtime, inner);
            endpoint.DisplayName = "Keeptrusts MCP bridge: " + endpoint.DisplayName;
        });
        return builder;
    }

    public static ProviderTarget? FindTarget(PolicyConfig config, string targetId)
    {
        foreach (var target in config.Providers.Targets)
        {
            if (string.Equals(target.Id, targetId, StringComparison.OrdinalIgnoreCase)
                && target.Provider.Trim().Equals(McpFamily, StringComparison.OrdinalIgnoreCase)
                && (!string.IsNullOrWhiteSpace(target.BaseUrl) || !string.IsNullOrWhiteSpace(target.AdapterCommand)))
            {
                return target;
            }
        }

        return null;
    }

    private static async Task GuardAsync(HttpContext http, GatewayRuntime runtime, RequestDelegate inner)
    {
        var requestId = RequestIds.New();
        http.Response.Headers[GatewayHeaders.RequestId] = requestId;
        SnapshotLease lease;
        try
        {
            lease = runtime.Acquire();
        }
        catch (ObjectDisposedException)
        {
            await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, McpErrors.UpstreamUnavailable, "the gateway is shutting down").ConfigureAwait(false);
            return;
        }

        RequestContext caller;
        using (lease)
        {
            var snapshot = lease.Snapshot;
            var targetId = http.GetRouteValue("target_id") as string ?? string.Empty;
            if (FindTarget(snapshot.Config, targetId) is null)
            {
                var known = snapshot.Config.Providers.Targets.Where(static t => t.Provider.Trim().Equals(McpFamily, StringComparison.OrdinalIgnoreCase)).Select(static t => t.Id).ToList();
                var hint = known.Count == 0 ? "no MCP targets are configured" : "MCP targets: " + string.Join(", ", known);
                await WriteErrorAsync(http, StatusCodes.Status404NotFound, McpErrors.UnknownTarget, $"'{Bounded(targetId)}' is not an MCP target with base_url or adapter_command; {hint}").ConfigureAwait(false);
                return;
            }

            var resolution = await snapshot.Identity.ResolveAsync(IdentityEvidenceReader.Read(http.Request), http.RequestAborted).ConfigureAwait(false);
            if (resolution.Identity is not { } identity)
            {
                await WriteErrorAsync(http, resolution.Status, McpErrors.Unauthorized, resolution.Failure ?? "the caller could not be identified").ConfigureAwait(false);
                return;
            }

            // Requests carry messages; the event stream (GET) and session end (DELETE) are not counted.
            if (HttpMethods.IsPost(http.Request.Method) && snapshot.RateLimiter is { } limiter && snapshot.Config.DistributedRateLimit is { } limits)
            {
                var subject = limits.Scope switch
                {
                    RateLimitScope.Team => identity.Team,
                    RateLimitScope.GatewayKey => identity.KeyId,
                    _ => identity.UserId,
                };
                var bucket = RequestRateLimiter.BucketKey(snapshot.Config.Pack?.Name ?? "default", limits.Scope, subject);
                var rate = await limiter.AcquireAsync(bucket, http.RequestAborted).ConfigureAwait(false);
                http.Response.Headers[GatewayHeaders.RateLimitLimit] = limits.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
                http.Response.Headers[GatewayHeaders.RateLimitRemaining] = rate.Remaining.ToString(CultureInfo.InvariantCulture);
                if (!rate.Allowed)
                {
                    http.Response.Headers[GatewayHeaders.RateLimitRemaining] = "0";
                    http.Response.Headers.RetryAfter = OpenAIErrorWriter.RetryAfterValue(rate.RetryAfter);
                    await WriteErrorAsync(http, StatusCodes.Status429TooManyRequests, McpErrors.RateLimited, $"rate limit reached: {limits.RequestsPerMinute} requests per minute; retry after the time in Retry-After").ConfigureAwait(false);
                    return;
                }
            }

            caller = identity.ApplyTo(new RequestContext { RequestId = requestId });
        }

        http.Items[McpBridgeSession.CallerKey] = caller;
        await inner(http).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(HttpContext http, int status, int code, string message)
    {
        var response = http.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (status == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"keeptrusts\"";
        }

        using var buffer = new MemoryStream();
        var writer = new Utf8JsonWriter(buffer);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WriteNull("id");
            writer.WriteStartObject("error");
            writer.WriteNumber("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.RequestAborted).ConfigureAwait(false);
    }

    private static string Bounded(string value) => value.Length <= 100 ? value : value[..100] + "…";
}
