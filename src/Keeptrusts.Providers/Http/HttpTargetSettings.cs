using Keeptrusts.Providers.Credentials;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Providers.Http;

/// <summary>Everything an HTTP adapter needs about its target, fixed when the client is created.</summary>
internal sealed record HttpTargetSettings
{
    public required string TargetId { get; init; }

    /// <summary>The absolute base URL, without a trailing slash.</summary>
    public required string BaseUrl { get; init; }

    /// <summary>Replaces the chat path; <c>{model}</c> is replaced by the escaped model.</summary>
    public string? PathTemplate { get; init; }

    public required IHttpClientSource Clients { get; init; }

    public required UpstreamCredential Credential { get; init; }

    public required string HeaderName { get; init; }

    /// <summary>Put before the credential with one space; empty for the bare credential.</summary>
    public required string HeaderPrefix { get; init; }

    public required TimeProvider Time { get; init; }

    public required int MaxResponseBytes { get; init; }

    public required ILogger Logger { get; init; }

    /// <summary>The URL for a request path such as <c>/v1/chat/completions</c>; a base URL that already ends in <c>/v1</c> is not given a second one.</summary>
    public Uri Resolve(string path)
    {
        if (!path.StartsWith('/'))
        {
            path = "/" + path;
        }

        if (BaseUrl.EndsWith("/v1", StringComparison.OrdinalIgnoreCase) && (path.StartsWith("/v1/", StringComparison.OrdinalIgnoreCase) || path.Equals("/v1", StringComparison.OrdinalIgnoreCase)))
        {
            path = path[3..];
        }

        return new Uri(BaseUrl + path, UriKind.Absolute);
    }

    /// <summary>The URL of a completion: <see cref="PathTemplate"/> when set, else <paramref name="defaultPath"/>.</summary>
    public Uri ResolveChat(string defaultPath, string model)
    {
        if (PathTemplate is not { Length: > 0 } template)
        {
            return Resolve(defaultPath);
        }

        var path = template.Replace("{model}", Uri.EscapeDataString(model), StringComparison.Ordinal);
        return new Uri(BaseUrl + (path.StartsWith('/') ? path : "/" + path), UriKind.Absolute);
    }

    /// <summary>The value of the credential header, or null when the target sends none.</summary>
    public string? HeaderValue(string? credential)
        => credential is null ? null : HeaderPrefix.Length == 0 ? credential : HeaderPrefix + " " + credential;
}
