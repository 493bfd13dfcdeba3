using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Keeptrusts.ControlPlaneEmulator.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Keeptrusts.ControlPlaneEmulator.Relay;

/// <summary>
/// The relay endpoints (docs/relay.md): <c>GET /v1/gateway/relay</c> (the gateways' WebSocket),
/// <c>POST /emulator/relay/{registration_id}</c> (send a request through a connected gateway and stream its answer
/// back), <c>GET /emulator/relay</c> (connections seen), and the fault switches under <c>/emulator/relay-control/</c>.
/// </summary>
public static class RelayEndpoints
{
    private const long MaxForwardedBody = 32L * 1024 * 1024;
    private const string RelayPermission = "relay:connect";

    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    };

    /// <summary>Maps the relay endpoints. Uses the <see cref="RelayHub"/> registered in services, or a new one.</summary>
    public static WebApplication MapRelayEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var hub = app.Services.GetService<RelayHub>() ?? new RelayHub();
        var store = app.Services.GetService<EmulatorStore>();
        if (hub.ExpectedToken is null && store is not null)
        {
            // Any token the store knows (whatever its permissions) may open the relay.
            hub.Authorize = token => store.Authorize(token, RelayPermission) != StatusCodes.Status401Unauthorized;
        }

        var time = app.Services.GetService<TimeProvider>() ?? TimeProvider.System;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });

        app.Map("/v1/gateway/relay", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await Error(context, StatusCodes.Status400BadRequest, "a WebSocket upgrade is required");
                return;
            }

            var auth = context.Request.Headers.Authorization.ToString();
            var token = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : string.Empty;
            if (hub.AuthMode == RelayAuthMode.Refuse || token.Length == 0 || (hub.ExpectedToken is { } expected && !FixedTimeEquals(token, expected)) || (hub.Authorize is { } authorize && !authorize(token)))
            {
                await Error(context, StatusCodes.Status401Unauthorized, "the machine token was refused");
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await hub.ServeAsync(socket, time, context.RequestAborted);
        });

        app.MapGet("/emulator/relay", () => Results.Json(hub.History.Select(static r => new
        {
            registration_id = r.RegistrationId,
            instance_id = r.InstanceId,
            gateway_version = r.GatewayVersion,
            session_id = r.SessionId,
            opened_at = r.OpenedAt,
            registered_at = r.RegisteredAt,
            closed_at = r.ClosedAt,
            close_status = r.CloseStatus,
        })));

        app.MapPost("/emulator/relay-control/drop", () => Results.Json(new { dropped = hub.DropAll() }));
        app.MapPost("/emulator/relay-control/revoke", async (HttpContext context) => Results.Json(new { revoked = await hub.RevokeAllAsync(context.RequestAborted) }));
        app.MapPost("/emulator/relay-control/auth", (string mode) =>
        {
            switch (mode)
            {
                case "accept": hub.AuthMode = RelayAuthMode.Accept; break;
                case "refuse": hub.AuthMode = RelayAuthMode.Refuse; break;
                case "close4401": hub.AuthMode = RelayAuthMode.CloseWith4401; break;
                default: return Results.BadRequest(new { error = new { message = "mode must be accept, refuse or close4401" } });
            }

            return Results.Json(new { auth = mode });
        });
        app.MapPost("/emulator/relay-control/register", (bool acknowledge) =>
        {
            hub.AcknowledgeRegistrations = acknowledge;
            return Results.Json(new { acknowledge });
        });

        app.MapPost("/emulator/relay/{registration_id}/raw", async (HttpContext context, string registration_id) =>
        {
            if (hub.Find(registration_id) is not { } gateway)
            {
                await Error(context, StatusCodes.Status404NotFound, $"no gateway registered as {registration_id}");
                return;
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            await gateway.SendRawAsync(body.ToArray(), context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });

        app.MapPost("/emulator/relay/{registration_id}", (HttpContext context, string registration_id) => ForwardAsync(context, hub, registration_id));
        return app;
    }

    /// <summary>
    /// Sends the request (its body and headers; method and path from <c>?method=</c> and <c>?path=</c>, default
    /// <c>POST /v1/chat/completions</c>) through the gateway, then streams the answer: status and headers from
    /// <c>response_start</c>, each chunk written and flushed as it comes. A <c>response_error</c> or a lost gateway
    /// after the start aborts the response; a caller that goes away sends <c>cancel</c>.
    /// </summary>
    private static async Task ForwardAsync(HttpContext context, RelayHub hub, string registrationId)
    {
        if (hub.Find(registrationId) is not { } gateway)
        {
            await Error(context, StatusCodes.Status404NotFound, $"no gateway registered as {registrationId}");
            return;
        }

        var method = context.Request.Query["method"].FirstOrDefault() ?? "POST";
        var path = context.Request.Query["path"].FirstOrDefault() ?? "/v1/chat/completions";
        if (!path.StartsWith('/'))
        {
            await Error(context, StatusCodes.Status400BadRequest, "path must start with /");
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        if (body.Length > MaxForwardedBody)
        {
            await Error(context, StatusCodes.Status413PayloadTooLarge, "body too large");
            return;
        }

        var headers = context.Request.Headers
            .Where(static h => !NotForwarded.Contains(h.Key))
            .Select(static h => new KeyValuePair<string, string>(h.Key, h.Value.ToString()))
            .ToList();
        var id = hub.NextRequestId();
        var answers = await gateway.SendRequestAsync(id, method, path, headers, body.ToArray(), context.RequestAborted);
        var started = false;
        try
        {
            await foreach (var frame in answers.ReadAllAsync(context.RequestAborted))
            {
                switch (frame.Type)
                {
                    case "response_start":
                        context.Response.StatusCode = frame.Status;
                        foreach (var (name, value) in frame.Headers)
                        {
                            if (!NotForwarded.Contains(name))
                            {
                                context.Response.Headers.Append(name, value);
                            }
                        }

                        await context.Response.StartAsync(context.RequestAborted);
                        started = true;
                        break;
                    case "response_chunk":
                        await context.Response.Body.WriteAsync(frame.Data, context.RequestAborted);
                        await context.Response.Body.FlushAsync(context.RequestAborted);
                        break;
                    case "response_error":
                        if (!started)
                        {
                            await Error(context, StatusCodes.Status502BadGateway, "the gateway failed: " + frame.Message);
                            return;
                        }

                        context.Abort();
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            gateway.Forget(id);
            try
            {
                await gateway.CancelAsync(id, CancellationToken.None);
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException)
            {
            }
        }
        catch (IOException)
        {
            if (started)
            {
                context.Abort();
            }
            else
            {
                await Error(context, StatusCodes.Status502BadGateway, "the gateway disconnected");
            }
        }
    }

    private static Task Error(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type = "relay_error" } }));
    }

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));
}
