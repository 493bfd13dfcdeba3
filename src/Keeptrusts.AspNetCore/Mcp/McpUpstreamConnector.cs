using Keeptrusts.Policy.Configuration;
using Keeptrusts.Providers;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Keeptrusts.AspNetCore.Mcp;

/// <summary>
/// Opens the bridge's side of a session with a target's MCP server: Streamable HTTP to <c>base_url + /mcp</c> (or
/// <c>base_url + path_template</c>), or a local runner over stdio when the target has <c>adapter_command</c>.
/// </summary>
internal sealed class McpUpstreamConnector(ILoggerFactory loggers, IServiceProvider services) : IDisposable
{
    public const string DefaultPath = "/mcp";

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The endpoint of the native bridge for a target.</summary>
    public static Uri EndpointOf(ProviderTarget target)
    {
        var baseUrl = target.BaseUrl ?? throw new InvalidOperationException($"target '{target.Id}' has no base_url");
        var path = string.IsNullOrWhiteSpace(target.PathTemplate) ? DefaultPath : target.PathTemplate!;
        return new Uri(baseUrl.TrimEnd('/') + "/" + path.TrimStart('/'), UriKind.Absolute);
    }

    public static bool IsAdapter(ProviderTarget target) => !string.IsNullOrWhiteSpace(target.AdapterCommand);

    public async Task<McpClient> ConnectAsync(ProviderTarget target, Func<JsonRpcNotification, CancellationToken, ValueTask> onToolsChanged, CancellationToken cancellationToken)
    {
        IClientTransport transport;
        if (IsAdapter(target))
        {
            var shell = OperatingSystem.IsWindows() ? ("cmd.exe", "/c") : ("/bin/sh", "-c");
            transport = new StdioClientTransport(
                new StdioClientTransportOptions
                {
                    Name = target.Id,
                    Command = shell.Item1,
                    Arguments = [shell.Item2, target.AdapterCommand!],
                    ShutdownTimeout = TimeSpan.FromSeconds(5),
                },
                loggers);
        }
        else
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (await ResolveCredentialAsync(target, cancellationToken).ConfigureAwait(false) is { } credential)
            {
                headers["Authorization"] = "Bearer " + credential;
            }

            transport = new HttpClientTransport(
                new HttpClientTransportOptions
                {
                    Name = target.Id,
                    Endpoint = EndpointOf(target),
                    TransportMode = HttpTransportMode.StreamableHttp,
                    AdditionalHeaders = headers,
                    ConnectionTimeout = TimeSpan.FromMilliseconds(target.TimeoutMs),
                },
                _http,
                loggers,
                ownsHttpClient: false);
        }

        var options = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "keeptrusts-gateway", Version = typeof(McpUpstreamConnector).Assembly.GetName().Version?.ToString() ?? "0" },
            InitializationTimeout = TimeSpan.FromMilliseconds(target.TimeoutMs),
            Handlers = new McpClientHandlers
            {
                NotificationHandlers = [new(NotificationMethods.ToolListChangedNotification, onToolsChanged)],
            },
        };

        return await McpClient.CreateAsync(transport, options, loggers, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<string?> ResolveCredentialAsync(ProviderTarget target, CancellationToken cancellationToken)
    {
        if (target.SecretKeyRef is not { } reference)
        {
            return null;
        }

        if (!string.IsNullOrWhiteSpace(reference.Env))
        {
            return Environment.GetEnvironmentVariable(reference.Env) is { Length: > 0 } value ? value : null;
        }

        if (!string.IsNullOrWhiteSpace(reference.Store) && services.GetService(typeof(ISecretResolver)) is ISecretResolver resolver)
        {
            return await resolver.ResolveAsync(reference.Store, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    public void Dispose() => _http.Dispose();
}
