namespace Keeptrusts.GatewayHost.Relay;

/// <summary>
/// Where the relay connects: <c>KEEPTRUSTS_RELAY_URL</c> when set, otherwise derived from <c>KEEPTRUSTS_API_URL</c>
/// (<c>https</c> becomes <c>wss</c>, <c>http</c> becomes <c>ws</c>; a host whose first label is <c>api</c> gets
/// <c>relay</c> instead; any other host is kept with its port; the path is <c>/v1/gateway/relay</c>).
/// </summary>
internal static class RelayUrl
{
    public const string Path = "/v1/gateway/relay";

    /// <summary>The relay URL for a control-plane URL, or null when the URL is not absolute http(s) without credentials.</summary>
    public static Uri? Derive(Uri apiUrl)
    {
        ArgumentNullException.ThrowIfNull(apiUrl);
        if (!apiUrl.IsAbsoluteUri || apiUrl.UserInfo.Length > 0)
        {
            return null;
        }

        var scheme = apiUrl.Scheme switch
        {
            "https" => "wss",
            "http" => "ws",
            _ => null,
        };
        if (scheme is null)
        {
            return null;
        }

        var host = apiUrl.Host;
        if (host.StartsWith("api.", StringComparison.OrdinalIgnoreCase) && host.Length > "api.".Length)
        {
            host = "relay." + host["api.".Length..];
        }

        var builder = new UriBuilder(scheme, host, apiUrl.IsDefaultPort ? -1 : apiUrl.Port, Path);
        return builder.Uri;
    }

    /// <summary>Parses an explicit relay URL: absolute <c>ws</c> or <c>wss</c> (or <c>http</c>/<c>https</c>, mapped the same way), no credentials, no fragment.</summary>
    public static Uri? ParseOverride(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return null;
        }

        var scheme = uri.Scheme switch
        {
            "wss" or "https" => "wss",
            "ws" or "http" => "ws",
            _ => null,
        };
        if (scheme is null)
        {
            return null;
        }

        return scheme == uri.Scheme ? uri : new UriBuilder(uri) { Scheme = scheme, Port = uri.IsDefaultPort ? -1 : uri.Port }.Uri;
    }

    /// <summary>The URL as logs and <c>/health</c> show it: scheme, host, port and path, never a query.</summary>
    public static string Display(Uri url) => url.GetLeftPart(UriPartial.Path);
}
