using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.ControlPlane;

namespace Keeptrusts.GatewayHost.Cli.Events;

/// <summary>
/// <c>kt events list|tail</c>: decision events as the control plane holds them (<c>GET /v1/events</c> at
/// <c>KEEPTRUSTS_API_URL</c>, with <c>KEEPTRUSTS_API_TOKEN</c> or else <c>KEEPTRUSTS_GATEWAY_TOKEN</c>).
/// </summary>
internal sealed class EventsCommand : Command
{
    public const string ApiTokenVariable = "KEEPTRUSTS_API_TOKEN";

    public EventsCommand(KtConsole console)
        : base("events", "Read decision events from the control plane (KEEPTRUSTS_API_URL).")
    {
        Subcommands.Add(new EventsListCommand(console));
        Subcommands.Add(new EventsTailCommand(console));
    }

    /// <summary>The client for the control plane, or a one-line problem.</summary>
    internal static (ControlPlaneClient? Client, string? Problem) Client(KtConsole console, string? token, HttpClient http)
    {
        var url = console.GetEnvironmentVariable(GatewayRunSettings.ApiUrlVariable);
        if (string.IsNullOrWhiteSpace(url))
        {
            return (null, $"{GatewayRunSettings.ApiUrlVariable} is not set: it names the control plane to read events from");
        }

        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.UserInfo.Length > 0)
        {
            return (null, $"{GatewayRunSettings.ApiUrlVariable} must be an absolute http or https URL without credentials in it");
        }

        token ??= NonEmpty(console.GetEnvironmentVariable(ApiTokenVariable)) ?? NonEmpty(console.GetEnvironmentVariable(GatewayRunSettings.GatewayTokenVariable));
        return (new ControlPlaneClient(http, uri, token), null);
    }

    internal static string Query(string? since, int limit, string? gatewayName, string? cursor)
    {
        var query = new StringBuilder("/v1/events?limit=").Append(limit.ToString(CultureInfo.InvariantCulture));
        if (since is not null)
        {
            query.Append("&since=").Append(Uri.EscapeDataString(since));
        }

        if (gatewayName is not null)
        {
            query.Append("&gateway_name=").Append(Uri.EscapeDataString(gatewayName));
        }

        if (cursor is not null)
        {
            query.Append("&cursor=").Append(Uri.EscapeDataString(cursor));
        }

        return query.ToString();
    }

    /// <summary>The events and next cursor of an answer, or null when it is not the documented shape.</summary>
    internal static (List<JsonElement> Events, string? NextCursor)? Read(JsonDocument? json)
    {
        if (json is null || json.RootElement.ValueKind != JsonValueKind.Object
            || !json.RootElement.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var cursor = json.RootElement.TryGetProperty("next_cursor", out var c) ? c.ValueKind switch
        {
            JsonValueKind.String => c.GetString(),
            JsonValueKind.Number => c.GetRawText(),
            _ => null,
        } : null;
        return (events.EnumerateArray().Select(static e => e.Clone()).ToList(), cursor);
    }

    /// <summary>One event as a table row: time, decision, user, key or gateway, model, request id.</summary>
    internal static string Row(JsonElement e) => string.Join(
        "  ",
        Field(e, "timestamp").PadRight(28),
        Field(e, "decision").PadRight(7),
        Field(e, "user_id").PadRight(24),
        Field(e, "gateway_name").PadRight(16),
        Field(e, "model").PadRight(14),
        Field(e, "request_id"));

    internal static string Header => string.Join("  ", "TIME".PadRight(28), "DECISION".PadRight(7), "USER".PadRight(24), "GATEWAY".PadRight(16), "MODEL".PadRight(14), "REQUEST_ID");

    private static string Field(JsonElement e, string name) =>
        KtCommand.OneLine(ControlPlaneClient.String(e, name) ?? "-");

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    internal static Option<string> TokenOption() => new("--api-token")
    {
        Description = $"Token to read events with [env: {ApiTokenVariable}, else {GatewayRunSettings.GatewayTokenVariable}].",
        HelpName = "token",
    };

    internal static Option<string> FormatOption() => new("--format")
    {
        Description = "Output: table or json (one JSON array for list, one JSON object per line for tail).",
        HelpName = "table|json",
        DefaultValueFactory = static _ => "table",
    };

    internal static Option<string> GatewayNameOption() => new("--gateway-name")
    {
        Description = "Only events of this gateway (its pack name).",
        HelpName = "name",
    };
}
