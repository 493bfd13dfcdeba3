using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator;

/// <summary>Bearer-token checks and the error shape every emulator endpoint answers with.</summary>
internal static class ApiAuth
{
    /// <summary>Null when the request may use <paramref name="permission"/>; otherwise the 401/403 answer.</summary>
    public static IResult? Check(HttpContext context, EmulatorStore store, string permission)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        return store.Authorize(bearer, permission) switch
        {
            200 => null,
            401 => Error(401, "unauthorized", "missing or unknown API token"),
            _ => Error(403, "forbidden", $"the token lacks the permission {permission}"),
        };
    }

    public static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);

    /// <summary>Reads a JSON body (≤ 16 MiB); null and an error answer when it is not JSON.</summary>
    public static async Task<(JsonDocument? Body, IResult? Error)> ReadJsonAsync(HttpContext context)
    {
        try
        {
            var doc = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            return (doc, null);
        }
        catch (JsonException ex)
        {
            return (null, Error(400, "invalid_json", $"the body is not valid JSON: {ex.Message}"));
        }
    }
}
