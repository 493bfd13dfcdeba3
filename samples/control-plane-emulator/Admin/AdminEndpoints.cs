using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator.Admin;

/// <summary>
/// Emulator controls (not part of the control-plane contract): <c>POST /admin/faults</c>
/// <c>{"mode":"none|unavailable|silent|garbage|oversized","path":"/v1/events"}</c>, <c>GET /admin/faults</c>,
/// <c>GET /admin/stats</c>, <c>DELETE /admin/events</c>. Never affected by the fault switch.
/// </summary>
public static class AdminEndpoints
{
    /// <summary>Maps the admin endpoints.</summary>
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/admin/faults", SetFaultAsync);
        endpoints.MapGet("/admin/faults", (FaultSwitch faults) => Results.Json(new { mode = ModeName(faults.Mode), path = faults.PathPrefix, faulted = faults.Faulted }));
        endpoints.MapGet("/admin/stats", (EmulatorStore store) => Results.Json(new
        {
            events = store.Events().Count,
            duplicate_events = store.DuplicateEvents,
            event_posts = store.EventPosts,
            gateway_key_resolutions = store.KeyResolutions,
            config_variable_resolutions = store.VariableResolutions,
        }));
        endpoints.MapDelete("/admin/events", (EmulatorStore store) =>
        {
            store.ClearEvents();
            return Results.NoContent();
        });
        return endpoints;
    }

    private static async Task<IResult> SetFaultAsync(HttpContext context, FaultSwitch faults)
    {
        var (doc, error) = await ApiAuth.ReadJsonAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            var root = doc!.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("mode", out var modeElement) || modeElement.ValueKind != JsonValueKind.String
                || !TryParseMode(modeElement.GetString()!, out var mode))
            {
                return ApiAuth.Error(400, "invalid_request", "expected {\"mode\":\"none|unavailable|silent|garbage|oversized\",\"path\":\"/v1/...\"}");
            }

            var path = root.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            faults.Set(mode, path);
            return Results.Json(new { mode = ModeName(mode), path });
        }
    }

    private static bool TryParseMode(string text, out FaultMode mode)
    {
        mode = text switch
        {
            "none" => FaultMode.None,
            "unavailable" => FaultMode.Unavailable,
            "silent" => FaultMode.Silent,
            "garbage" => FaultMode.Garbage,
            "oversized" => FaultMode.Oversized,
            _ => (FaultMode)(-1),
        };
        return Enum.IsDefined(mode);
    }

    private static string ModeName(FaultMode mode) => mode.ToString().ToLowerInvariant();
}
