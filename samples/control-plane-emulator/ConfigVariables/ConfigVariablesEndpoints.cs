using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator.ConfigVariables;

/// <summary><c>POST /v1/config-variables/resolve</c> and <c>PUT /v1/config-variables/{name}</c>.</summary>
public static class ConfigVariablesEndpoints
{
    /// <summary>Maps the config-variable endpoints.</summary>
    public static IEndpointRouteBuilder MapConfigVariablesEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/config-variables/resolve", ResolveAsync);
        endpoints.MapPut("/v1/config-variables/{name}", SetAsync);
        return endpoints;
    }

    private static async Task<IResult> ResolveAsync(HttpContext context, EmulatorStore store)
    {
        if (ApiAuth.Check(context, store, "config_vars:resolve") is { } denied)
        {
            return denied;
        }

        var (doc, error) = await ApiAuth.ReadJsonAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            if (doc!.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("names", out var names)
                || names.ValueKind != JsonValueKind.Array
                || names.EnumerateArray().Any(static n => n.ValueKind != JsonValueKind.String))
            {
                return ApiAuth.Error(400, "invalid_request", "expected {\"names\":[\"NAME\", ...]}");
            }

            var (found, missing) = store.ResolveVariables(names.EnumerateArray().Select(static n => n.GetString()!));
            return Results.Json(new { variables = found, missing });
        }
    }

    private static async Task<IResult> SetAsync(HttpContext context, EmulatorStore store, string name)
    {
        if (ApiAuth.Check(context, store, "config_vars:write") is { } denied)
        {
            return denied;
        }

        var (doc, error) = await ApiAuth.ReadJsonAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            if (doc!.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String)
            {
                return ApiAuth.Error(400, "invalid_request", "expected {\"value\":\"...\"}");
            }

            store.SetVariable(name, value.GetString()!);
            return Results.Json(new { name });
        }
    }
}
