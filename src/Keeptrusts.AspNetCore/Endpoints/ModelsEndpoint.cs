using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Runtime;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>
/// <c>GET /v1/models</c>: the models the targets declare that policy allows, in OpenAI's list shape, with the target id
/// as <c>owned_by</c>. Callers are identified as for chat completions.
/// </summary>
internal sealed class ModelsEndpoint(GatewayRuntime runtime)
{
    public async Task HandleAsync(HttpContext http)
    {
        using var lease = runtime.Acquire();
        var snapshot = lease.Snapshot;
        var resolution = await snapshot.Identity.ResolveAsync(IdentityEvidenceReader.Read(http.Request), http.RequestAborted).ConfigureAwait(false);
        if (!resolution.Succeeded)
        {
            await OpenAIErrorWriter.WriteAsync(http, resolution.Status, resolution.Failure ?? "the caller could not be identified", "invalid_identity").ConfigureAwait(false);
            return;
        }

        var created = snapshot.LoadedAt.ToUnixTimeSeconds();
        await GatewayJson.WriteAsync(http, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var model in snapshot.Router.Models)
            {
                if (!snapshot.Engine.AllowsTarget(model.TargetId, model.Id))
                {
                    continue;
                }

                writer.WriteStartObject();
                writer.WriteString("id", model.Id);
                writer.WriteString("object", "model");
                writer.WriteNumber("created", created);
                writer.WriteString("owned_by", model.TargetId);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
