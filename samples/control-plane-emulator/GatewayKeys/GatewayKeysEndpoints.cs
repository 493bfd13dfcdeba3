using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator.GatewayKeys;

/// <summary><c>POST /v1/gateway-keys/resolve</c>: a key's SHA-256 → its tenant (owner, team, scopes, config, variables).</summary>
public static class GatewayKeysEndpoints
{
    /// <summary>Maps the gateway-key endpoints.</summary>
    public static IEndpointRouteBuilder MapGatewayKeysEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/gateway-keys/resolve", ResolveAsync);
        return endpoints;
    }

    private static async Task<IResult> ResolveAsync(HttpContext context, EmulatorStore store)
    {
        if (ApiAuth.Check(context, store, "gateway_keys:resolve") is { } denied)
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
                || !doc.RootElement.TryGetProperty("key_sha256", out var hash) || hash.ValueKind != JsonValueKind.String
                || hash.GetString()!.Length != 64)
            {
                return ApiAuth.Error(400, "invalid_request", "expected {\"key_sha256\":\"<64 hex digits>\"}");
            }

            var key = store.FindGatewayKey(hash.GetString()!.ToLowerInvariant());
            if (key is null)
            {
                return ApiAuth.Error(404, "unknown_gateway_key", "no gateway key has this hash");
            }

            return Results.Json(new
            {
                key_id = key.KeyId,
                owner = key.Owner,
                team = key.Team,
                scopes = key.Scopes,
                config_version = key.ConfigVersion,
                policy_config = key.PolicyConfig,
                variables = key.Variables,
            });
        }
    }
}
