using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Anthropic;
using Keeptrusts.Providers.Credentials;
using Keeptrusts.Providers.Echo;
using Keeptrusts.Providers.Exec;
using Keeptrusts.Providers.File;
using Keeptrusts.Providers.Http;
using Keeptrusts.Providers.Logging;
using Keeptrusts.Providers.OpenAICompatible;
using Keeptrusts.Providers.Unavailable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keeptrusts.Providers.Factory;

/// <summary>
/// Picks the adapter for a target from its family (<see cref="ProviderFamilies"/>) and <c>format</c>, and checks
/// everything that can be checked before the first request: the family, the base URL, the credential reference.
/// </summary>
internal sealed class ProviderClientFactoryCore : IProviderClientFactory
{
    public const string VercelBaseUrl = "https://ai-gateway.vercel.sh/v1";

    private readonly FactorySettings _settings;
    private readonly IHttpClientSource _clients;
    private readonly ILogger _logger;

    public ProviderClientFactoryCore(ProviderClientOptions options, ISecretResolver? resolver, IHttpClientSource clients, ILoggerFactory? loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        _settings = FactorySettings.From(options, resolver);
        _clients = clients;
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Keeptrusts.Providers");
    }

    internal FactorySettings Settings => _settings;

    public IProviderClient Create(ProviderTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var id = target.Id;
        var family = target.Provider.Trim();
        var command = string.IsNullOrWhiteSpace(target.AdapterCommand) ? null : target.AdapterCommand.Trim();
        switch (ProviderFamilies.Classify(family))
        {
            case ProviderFamilyKind.Rejected:
                throw new ProviderConfigurationException(id, $"target '{id}' uses provider '{family}', which the gateway does not run: {ProviderFamilies.AlternativeFor(family)}");
            case ProviderFamilyKind.Unknown:
                throw new ProviderConfigurationException(id, $"target '{id}' uses provider '{family}', which is not a known provider family; for an OpenAI-compatible API use 'provider: openai' with its base_url");
            case ProviderFamilyKind.Adapter when command is null:
                ProviderLog.AdapterCommandMissing(_logger, id, family);
                return new UnavailableProviderClient(
                    $"target '{id}' uses the adapter family '{family}', which needs adapter_command (a local runner the gateway starts for each request); none is configured",
                    "adapter_command_required");
            case ProviderFamilyKind.Adapter:
                return CreateExec(target, command!, "adapter_command");
        }

        if (family.StartsWith(ProviderFamilies.ExecPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return CreateExec(target, family[ProviderFamilies.ExecPrefix.Length..], "provider");
        }

        if (family.StartsWith(ProviderFamilies.FilePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return CreateFile(target, family[ProviderFamilies.FilePrefix.Length..]);
        }

        if (family.Equals(ProviderFamilies.Echo, StringComparison.OrdinalIgnoreCase))
        {
            return CreateEcho();
        }

        if (family.Equals(ProviderFamilies.Mcp, StringComparison.OrdinalIgnoreCase))
        {
            if (command is not null)
            {
                return CreateExec(target, command, "adapter_command");
            }

            ProviderLog.McpBridgeUnavailable(_logger, id);
            return new UnavailableProviderClient(
                $"target '{id}' is an MCP target: its tools are served over MCP at /mcp/{id} on the gateway, not through chat completions",
                "mcp_bridge_unavailable");
        }

        if (family.Equals(ProviderFamilies.ClaudeAgentSdk, StringComparison.OrdinalIgnoreCase) && command is not null)
        {
            return CreateExec(target, command, "adapter_command");
        }

        return CreateHttp(target, family);
    }

    private IProviderClient CreateHttp(ProviderTarget target, string family)
    {
        var id = target.Id;
        var isAnthropicFamily = family.Equals(ProviderFamilies.Anthropic, StringComparison.OrdinalIgnoreCase) || family.Equals(ProviderFamilies.ClaudeAgentSdk, StringComparison.OrdinalIgnoreCase);
        var anthropic = target.Format?.Trim().ToLowerInvariant() switch
        {
            null or "" => isAnthropicFamily,
            "openai" => false,
            "anthropic" => true,
            var other => throw new ProviderConfigurationException(id, $"target '{id}' sets format '{other}', which is not a wire format the gateway speaks; use 'openai' or 'anthropic'"),
        };

        var defaultBaseUrl = family.Equals(ProviderFamilies.Vercel, StringComparison.OrdinalIgnoreCase) ? VercelBaseUrl
            : anthropic ? AnthropicProviderClient.DefaultBaseUrl
            : OpenAIProviderClient.DefaultBaseUrl;
        var settings = new HttpTargetSettings
        {
            TargetId = id,
            BaseUrl = CheckBaseUrl(id, string.IsNullOrWhiteSpace(target.BaseUrl) ? defaultBaseUrl : target.BaseUrl.Trim()),
            PathTemplate = string.IsNullOrWhiteSpace(target.PathTemplate) ? null : target.PathTemplate.Trim(),
            Clients = _clients,
            Credential = CreateCredential(target),
            HeaderName = _settings.ApiKeyHeader ?? (anthropic ? "x-api-key" : "Authorization"),
            HeaderPrefix = _settings.ApiKeyPrefix ?? (anthropic ? string.Empty : "Bearer"),
            Time = _settings.Time,
            MaxResponseBytes = _settings.MaxResponseBytes,
            Logger = _logger,
        };

        return anthropic ? new AnthropicProviderClient(settings) : new OpenAIProviderClient(settings);
    }

    private ExecProviderClient CreateExec(ProviderTarget target, string commandLine, string source)
        => ExecProviderClient.Create(target.Id, target.Provider.Trim(), commandLine, source, _settings.WorkingDirectory, _settings.Time, _settings.MaxResponseBytes, _logger);

    private FileProviderClient CreateFile(ProviderTarget target, string path)
        => FileProviderClient.Load(target.Id, path, _settings.WorkingDirectory, _settings.MaxResponseBytes, _settings.Time);

    private EchoProviderClient CreateEcho() => new(_settings.Time);

    private static string CheckBaseUrl(string id, string baseUrl)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ProviderConfigurationException(id, $"target '{id}' has base_url '{baseUrl}', which is not an absolute http(s) URL");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ProviderConfigurationException(id, $"target '{id}' has credentials in its base_url; put them in secret_key_ref");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ProviderConfigurationException(id, $"target '{id}' has a query or fragment in its base_url; put the full request path, with its query, in path_template");
        }

        return baseUrl.TrimEnd('/');
    }

    private UpstreamCredential CreateCredential(ProviderTarget target)
    {
        var id = target.Id;
        if (_settings.UpstreamApiKey is { } overrideKey)
        {
            return UpstreamCredential.FromValue(overrideKey);
        }

        if (target.SecretKeyRef is not { } reference)
        {
            return UpstreamCredential.None;
        }

        if (!string.IsNullOrWhiteSpace(reference.Env))
        {
            var variable = reference.Env.Trim();
            var value = _settings.ReadEnvironment(variable);
            if (string.IsNullOrEmpty(value))
            {
                throw new ProviderConfigurationException(id, $"target '{id}' reads its credential from the environment variable '{variable}' (secret_key_ref.env), which is not set");
            }

            if (!UpstreamCredential.IsHeaderSafe(value))
            {
                throw new ProviderConfigurationException(id, $"target '{id}': the environment variable '{variable}' (secret_key_ref.env) contains control characters and cannot be sent in a header");
            }

            return UpstreamCredential.FromValue(value);
        }

        if (!string.IsNullOrWhiteSpace(reference.Store))
        {
            var name = reference.Store.Trim();
            return _settings.SecretResolver is { } resolver
                ? UpstreamCredential.FromStore(resolver, name, id)
                : throw new ProviderConfigurationException(id, $"target '{id}' uses secret_key_ref.store '{name}', and a secret resolver for store references is required: use secret_key_ref.env with kt gateway run (it cannot resolve store references yet); in a .NET app, set ProviderClientOptions.SecretResolver or register an ISecretResolver");
        }

        return UpstreamCredential.None;
    }
}
