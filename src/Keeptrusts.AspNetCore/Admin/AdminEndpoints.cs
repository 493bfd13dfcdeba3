using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Keeptrusts.AspNetCore.Endpoints;
using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.AspNetCore.Telemetry;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Admin;

/// <summary>
/// The runtime API under <c>/keeptrusts/</c>: the running configuration (secrets masked), hot reload, and provider
/// metrics. The configuration and reload are disabled (404) unless an admin token is configured, and then need
/// <c>Authorization: Bearer</c> with that token, or, in <c>gateway_key</c> mode, a gateway key with the <c>admin</c>
/// scope. Provider metrics hold only counters, timings and breaker states, so anyone may read them.
/// </summary>
internal sealed class AdminEndpoints(GatewayRuntime runtime, ILogger<AdminEndpoints> logger)
{
    internal const string AdminScope = "admin";

    private readonly byte[]? _tokenHash = runtime.Options.AdminToken is { } token ? SHA256.HashData(Encoding.UTF8.GetBytes(token)) : null;

    public Task GetConfigAsync(HttpContext http) => EndpointGuard.RunAsync(http, logger, ConfigAsync);

    public Task ReloadAsync(HttpContext http) => EndpointGuard.RunAsync(http, logger, ReloadCoreAsync);

    public Task GetProviderMetricsAsync(HttpContext http) => EndpointGuard.RunAsync(http, logger, MetricsAsync);

    private async Task ConfigAsync(HttpContext http)
    {
        if (!await AuthorizeAsync(http).ConfigureAwait(false))
        {
            return;
        }

        using var lease = runtime.Acquire();
        var snapshot = lease.Snapshot;
        var config = ConfigJson.ToMaskedNode(snapshot.Config);
        await GatewayJson.WriteAsync(http, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("revision", snapshot.Revision);
            writer.WriteString("loaded_at", snapshot.LoadedAt);
            writer.WriteString("fail_mode", snapshot.Engine.FailMode == FailMode.Allow ? "allow" : "block");
            writer.WriteNumber("gateway_keys", snapshot.GatewayKeyCount);
            writer.WritePropertyName("config");
            config.WriteTo(writer);
            GatewayJson.WriteDiagnostics(writer, "warnings", snapshot.Diagnostics);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task ReloadCoreAsync(HttpContext http)
    {
        if (!await AuthorizeAsync(http).ConfigureAwait(false))
        {
            return;
        }

        var text = await ReadDocumentAsync(http).ConfigureAwait(false);
        if (text is null)
        {
            return;
        }

        var result = await runtime.ReloadAsync(string.IsNullOrWhiteSpace(text) ? null : text, http.RequestAborted).ConfigureAwait(false);
        if (result.Success)
        {
            await GatewayJson.WriteAsync(http, StatusCodes.Status200OK, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("status", result.Changed ? "reloaded" : "unchanged");
                writer.WriteString("revision", result.Revision);
                writer.WriteString("previous_revision", result.PreviousRevision);
                GatewayJson.WriteDiagnostics(writer, "warnings", result.Diagnostics);
                writer.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        var errors = result.Diagnostics.Count(static d => d.Severity == DiagnosticSeverity.Error);
        await GatewayJson.WriteAsync(http, StatusCodes.Status400BadRequest, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", $"the configuration has {errors} error(s); revision {result.Revision} keeps serving");
            writer.WriteString("type", "invalid_request_error");
            writer.WriteNull("param");
            writer.WriteString("code", "invalid_configuration");
            GatewayJson.WriteDiagnostics(writer, "diagnostics", result.Diagnostics);
            writer.WriteEndObject();
            writer.WriteString("revision", result.Revision);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task MetricsAsync(HttpContext http)
    {
        using var lease = runtime.Acquire();
        var snapshot = lease.Snapshot;
        var metrics = JsonSerializer.SerializeToNode(snapshot.Router.GetMetrics(), GatewayJson.Options)!;
        await GatewayJson.WriteAsync(http, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("revision", snapshot.Revision);
            foreach (var (name, value) in metrics.AsObject())
            {
                writer.WritePropertyName(name);
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Answers 404 when the API is disabled and 401 for a missing or wrong credential; true when the call may go on.</summary>
    private async Task<bool> AuthorizeAsync(HttpContext http)
    {
        if (_tokenHash is null)
        {
            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status404NotFound, "not found", "not_found").ConfigureAwait(false);
            return false;
        }

        var authorization = http.Request.Headers.Authorization;
        var presented = authorization.Count == 1 ? Bearer(authorization[0]) : null;
        if (presented is not null)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
            if (CryptographicOperations.FixedTimeEquals(hash, _tokenHash))
            {
                return true;
            }

            if (await IsAdminKeyAsync(http).ConfigureAwait(false))
            {
                return true;
            }
        }

        GatewayLog.AdminDenied(logger, http.Request.Path);
        await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status401Unauthorized, "the runtime API needs 'Authorization: Bearer <gateway token>'", "invalid_token").ConfigureAwait(false);
        return false;
    }

    private async Task<bool> IsAdminKeyAsync(HttpContext http)
    {
        using var lease = runtime.Acquire();
        var snapshot = lease.Snapshot;
        if (snapshot.Identity.Mode != IdentityMode.GatewayKey)
        {
            return false;
        }

        var resolution = await snapshot.Identity.ResolveAsync(IdentityEvidenceReader.Read(http.Request), http.RequestAborted).ConfigureAwait(false);
        return resolution.Identity is { ProofMethod: IdentityProofMethod.GatewayKey } identity && identity.HasScope(AdminScope);
    }

    private static string? Bearer(string? authorization)
    {
        var value = authorization.AsSpan().Trim();
        return value.Length > 7 && value[..7].Equals("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim().ToString() : null;
    }

    /// <summary>The reload body as text: YAML or JSON (JSON is YAML), any content type, at most the size of a configuration file.</summary>
    private static async Task<string?> ReadDocumentAsync(HttpContext http)
    {
        if (http.Request.ContentLength > PolicyConfigLoader.MaxFileBytes)
        {
            await TooLargeAsync(http).ConfigureAwait(false);
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > PolicyConfigLoader.MaxFileBytes)
            {
                await TooLargeAsync(http).ConfigureAwait(false);
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status400BadRequest, "the configuration is not valid UTF-8 text", "invalid_encoding").ConfigureAwait(false);
            return null;
        }

        return Encoding.UTF8.GetString(bytes);
    }

    private static Task TooLargeAsync(HttpContext http) =>
        OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, $"a configuration is limited to {PolicyConfigLoader.MaxFileBytes / 1024 / 1024} MiB", "request_too_large");
}
