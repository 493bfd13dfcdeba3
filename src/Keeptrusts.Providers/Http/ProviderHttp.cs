using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Keeptrusts.Providers.Http;

/// <summary>Gives the HTTP client for an upstream origin. Clients for one origin share one connection pool.</summary>
internal interface IHttpClientSource
{
    HttpClient Get(Uri endpoint);
}

/// <summary>How upstream connections are made, whichever way the clients are managed.</summary>
internal static class ProviderHttp
{
    /// <summary>Named clients are <c>Keeptrusts.Providers:{scheme}://{host}:{port}</c>, one per upstream origin.</summary>
    public const string ClientNamePrefix = "Keeptrusts.Providers:";

    public static string ClientName(Uri endpoint) => ClientNamePrefix + endpoint.GetLeftPart(UriPartial.Authority);

    /// <summary>
    /// A pooled handler. Connections are recycled every few minutes so DNS changes are seen; redirects are not
    /// followed (a redirect must not carry the credential header to another host); the proxy is left to
    /// <see cref="HttpClient.DefaultProxy"/>, which honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.All,
        EnableMultipleHttp2Connections = true,
        UseCookies = false,
    };

    public static void ConfigureClient(HttpClient client)
    {
        // Each attempt carries its own timeout (ProviderRequest.Timeout); the client's would cut long streams.
        client.Timeout = Timeout.InfiniteTimeSpan;
    }
}

/// <summary>Clients for use without dependency injection: one long-lived pooled handler per origin, shared by the process.</summary>
internal sealed class SharedHttpClientSource : IHttpClientSource
{
    public static readonly SharedHttpClientSource Instance = new();

    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

    public HttpClient Get(Uri endpoint) => _clients.GetOrAdd(ProviderHttp.ClientName(endpoint), static _ =>
    {
        var client = new HttpClient(ProviderHttp.CreateHandler(), disposeHandler: true);
        ProviderHttp.ConfigureClient(client);
        return client;
    });
}

/// <summary>Clients from <see cref="IHttpClientFactory"/>, named per origin.</summary>
internal sealed class FactoryHttpClientSource(IHttpClientFactory factory) : IHttpClientSource
{
    public HttpClient Get(Uri endpoint) => factory.CreateClient(ProviderHttp.ClientName(endpoint));
}

/// <summary>Configures every named client whose name starts with <see cref="ProviderHttp.ClientNamePrefix"/>.</summary>
internal sealed class ProviderHttpClientSetup : IConfigureNamedOptions<HttpClientFactoryOptions>
{
    public void Configure(string? name, HttpClientFactoryOptions options)
    {
        if (name is null || !name.StartsWith(ProviderHttp.ClientNamePrefix, StringComparison.Ordinal))
        {
            return;
        }

        options.HttpMessageHandlerBuilderActions.Add(static builder => builder.PrimaryHandler = ProviderHttp.CreateHandler());
        options.HttpClientActions.Add(ProviderHttp.ConfigureClient);

        // The handler recycles its own connections (PooledConnectionLifetime); rotating whole handlers would only drop warm pools.
        options.HandlerLifetime = Timeout.InfiniteTimeSpan;
    }

    public void Configure(HttpClientFactoryOptions options) => Configure(Options.DefaultName, options);
}
