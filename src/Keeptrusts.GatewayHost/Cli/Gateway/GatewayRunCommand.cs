using System.CommandLine;
using System.Globalization;
using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.Policy.Evaluation;
using OpenTelemetry.Exporter;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>
/// <c>kt gateway run [--listen host:port] --policy-config F [--policy-config G ...] [--fail-mode block|allow]
/// [--max-concurrency n] [--api-token t] [--upstream url] [--upstream-api-key k] [--upstream-api-key-header h]
/// [--upstream-api-key-prefix p] [--metrics on|admin|off]</c>: loads and lints the configuration, refuses to start on any error, then serves
/// the OpenAI-compatible API and the runtime endpoints until SIGTERM or Ctrl+C. SIGHUP reloads the configuration.
/// </summary>
internal sealed class GatewayRunCommand : Command
{
    private readonly KtConsole _console;

    private readonly Option<string> _listen = new("--listen")
    {
        Description = "Address to listen on: host:port, [ipv6]:port or localhost:port.",
        HelpName = "host:port",
        DefaultValueFactory = static _ => ListenAddress.Default.ToString(),
    };

    private readonly Option<int?> _port = new("--port")
    {
        Description = "Shorthand that replaces only the port of --listen.",
        HelpName = "port",
    };

    private readonly Option<string[]> _configs = new("--policy-config", "--config", "-c")
    {
        Description = "Declarative config file to load; repeat the flag to layer multiple files (the later file wins). Default: policy-config.yaml in the current directory.",
        HelpName = "path",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string> _failMode = new("--fail-mode")
    {
        Description = "Behavior on policy error: block or allow.",
        HelpName = "block|allow",
        DefaultValueFactory = static _ => "block",
    };

    private readonly Option<int?> _maxConcurrency = new("--max-concurrency")
    {
        Description = $"Maximum concurrent upstream requests [env: {GatewayRunSettings.MaxConcurrencyVariable}; default {GatewayRunSettings.DefaultMaxConcurrency}].",
        HelpName = "n",
    };

    private readonly Option<string> _apiToken = new("--api-token")
    {
        Description = $"Runtime token used for gateway reporting and authenticated inspection [env: {GatewayRunSettings.GatewayTokenVariable}].",
        HelpName = "token",
    };

    private readonly Option<string> _upstream = new("--upstream")
    {
        Description = $"Debug-only: send every request to this OpenAI-compatible URL instead of the configured providers [env: {GatewayRunSettings.UpstreamUrlVariable}].",
        HelpName = "url",
    };

    private readonly Option<string> _upstreamApiKey = new("--upstream-api-key")
    {
        Description = $"Debug-only credential for --upstream [env: {GatewayRunSettings.UpstreamApiKeyVariable}].",
        HelpName = "key",
    };

    private readonly Option<string> _upstreamApiKeyHeader = new("--upstream-api-key-header")
    {
        Description = $"Header name for upstream credentials [env: {GatewayRunSettings.UpstreamApiKeyHeaderVariable}; default Authorization].",
        HelpName = "header",
    };

    private readonly Option<string> _upstreamApiKeyPrefix = new("--upstream-api-key-prefix")
    {
        Description = $"Prefix used when constructing the upstream auth header [env: {GatewayRunSettings.UpstreamApiKeyPrefixVariable}; default Bearer].",
        HelpName = "prefix",
    };

    private readonly Option<int> _shutdownTimeout = new("--shutdown-timeout")
    {
        Description = "Seconds a shutdown waits for in-flight requests to finish.",
        HelpName = "seconds",
        DefaultValueFactory = static _ => 30,
    };

    private readonly Option<string> _dataDir = new("--data-dir")
    {
        Description = $"Directory for the event spool and the instance id [env: {GatewayRunSettings.DataDirVariable}; default {GatewayRunSettings.DefaultDataDir}].",
        HelpName = "path",
    };

    private readonly Option<bool> _noWatch = new("--no-watch")
    {
        Description = "Do not reload when a configuration file changes (SIGHUP and the reload endpoint still work).",
    };

    private readonly Option<string> _metrics = new("--metrics")
    {
        Description = "Prometheus text at /metrics: on (anyone may read it), admin (needs the api token) or off. Env: KEEPTRUSTS_METRICS.",
        HelpName = "on|admin|off",
    };

    public GatewayRunCommand(KtConsole console)
        : base("run", "Start the policy enforcement gateway: an OpenAI-compatible API on port 41002 that applies the policy chain to every request and response.")
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _failMode.AcceptOnlyFromAmong("block", "allow");
        _metrics.AcceptOnlyFromAmong("on", "admin", "off");
        _listen.Validators.Add(static result =>
        {
            if (result.Tokens.Count > 0 && !ListenAddress.TryParse(result.Tokens[^1].Value, out _, out var problem))
            {
                result.AddError("--listen: " + problem);
            }
        });
        _port.Validators.Add(static result =>
        {
            if (result.GetValueOrDefault<int?>() is { } port && (port < 0 || port > 65535))
            {
                result.AddError($"--port must be from 0 to 65535, found {port}");
            }
        });
        _maxConcurrency.Validators.Add(static result =>
        {
            if (result.GetValueOrDefault<int?>() is { } n && n < 1)
            {
                result.AddError($"--max-concurrency must be a positive integer, found {n}");
            }
        });
        _shutdownTimeout.Validators.Add(static result =>
        {
            if (result.GetValueOrDefault<int>() is var n && n < 0)
            {
                result.AddError($"--shutdown-timeout must be zero or more seconds, found {n}");
            }
        });
        _configs.Validators.Add(static result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-')
                {
                    result.AddError($"Unrecognized option '{token.Value}' (for a file whose name starts with '-', write ./{token.Value})");
                }
            }
        });

        foreach (var option in new Option[] { _listen, _port, _configs, _failMode, _maxConcurrency, _apiToken, _upstream, _upstreamApiKey, _upstreamApiKeyHeader, _upstreamApiKeyPrefix, _shutdownTimeout, _dataDir, _noWatch, _metrics })
        {
            Options.Add(option);
        }

        SetAction(ExecuteAsync);
    }

    /// <summary>
    /// Turns the parsed flags and the environment into settings, or the problems that stop them (each one line,
    /// naming the flag or variable). A flag beats its environment variable.
    /// </summary>
    internal (GatewayRunSettings? Settings, IReadOnlyList<string> Problems) Resolve(ParseResult parseResult)
    {
        var problems = new List<string>();
        var env = _console.GetEnvironmentVariable;
        ListenAddress.TryParse(parseResult.GetRequiredValue(_listen), out var listen, out _);
        listen ??= ListenAddress.Default;
        if (parseResult.GetValue(_port) is { } port)
        {
            listen = listen with { Port = port };
        }

        var apiToken = NonEmpty(parseResult.GetValue(_apiToken)) ?? NonEmpty(env(GatewayRunSettings.GatewayTokenVariable));
        var configs = parseResult.GetValue(_configs) ?? [];
        var hosted = false;
        if (configs.Length == 0)
        {
            var fallback = Path.Combine(_console.WorkingDirectory, GatewayRunSettings.DefaultConfigFile);
            if (File.Exists(fallback))
            {
                configs = [fallback];
            }
            else if (NonEmpty(env(GatewayRunSettings.ApiUrlVariable)) is not null && apiToken is not null)
            {
                // No configuration of its own, a control plane and a token: hosted mode, one configuration per gateway key.
                hosted = true;
            }
            else
            {
                problems.Add($"no configuration: pass --policy-config <path> (or run where {GatewayRunSettings.DefaultConfigFile} is), or set {GatewayRunSettings.ApiUrlVariable} and {GatewayRunSettings.GatewayTokenVariable} for hosted mode");
            }
        }

        var maxConcurrency = parseResult.GetValue(_maxConcurrency);
        if (maxConcurrency is null && NonEmpty(env(GatewayRunSettings.MaxConcurrencyVariable)) is { } fromEnv)
        {
            if (int.TryParse(fromEnv, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
            {
                maxConcurrency = n;
            }
            else
            {
                problems.Add($"{GatewayRunSettings.MaxConcurrencyVariable} must be a positive integer, found '{fromEnv}'");
            }
        }

        Uri? upstream = null;
        var upstreamText = NonEmpty(parseResult.GetValue(_upstream)) ?? NonEmpty(env(GatewayRunSettings.UpstreamUrlVariable));
        if (upstreamText is not null)
        {
            var source = NonEmpty(parseResult.GetValue(_upstream)) is null ? GatewayRunSettings.UpstreamUrlVariable : "--upstream";
            if (!Uri.TryCreate(upstreamText, UriKind.Absolute, out upstream) || (upstream.Scheme != Uri.UriSchemeHttp && upstream.Scheme != Uri.UriSchemeHttps) || upstream.UserInfo.Length > 0)
            {
                // Never echo the value: a URL may carry credentials.
                problems.Add($"{source} must be an absolute http or https URL without credentials in it");
                upstream = null;
            }
        }

        var header = NonEmpty(parseResult.GetValue(_upstreamApiKeyHeader)) ?? NonEmpty(env(GatewayRunSettings.UpstreamApiKeyHeaderVariable));
        if (header is not null && !IsToken(header))
        {
            problems.Add($"the upstream api key header '{header}' is not a valid HTTP header name");
        }

        var prefix = parseResult.GetValue(_upstreamApiKeyPrefix) ?? env(GatewayRunSettings.UpstreamApiKeyPrefixVariable);
        if (prefix is not null && prefix.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            problems.Add("the upstream api key prefix must be one line");
        }

        var apiKey = NonEmpty(parseResult.GetValue(_upstreamApiKey)) ?? NonEmpty(env(GatewayRunSettings.UpstreamApiKeyVariable));
        if (apiKey is not null && apiKey.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            problems.Add("the upstream api key must be one line");
        }

        Uri? apiUrl = null;
        if (NonEmpty(env(GatewayRunSettings.ApiUrlVariable)) is { } apiUrlText)
        {
            if (!Uri.TryCreate(apiUrlText, UriKind.Absolute, out apiUrl) || (apiUrl.Scheme != Uri.UriSchemeHttp && apiUrl.Scheme != Uri.UriSchemeHttps) || apiUrl.UserInfo.Length > 0)
            {
                problems.Add($"{GatewayRunSettings.ApiUrlVariable} must be an absolute http or https URL without credentials in it");
                apiUrl = null;
            }
        }

        var metrics = ResolveMetrics(parseResult.GetValue(_metrics) ?? NonEmpty(env(GatewayRunSettings.MetricsVariable)), apiToken, problems);
        var otlp = ResolveOtlp(env, problems);

        var (relay, relayOff, relayWarn) = RelaySetup.Resolve(env, apiUrl, apiToken, problems);
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var settings = new GatewayRunSettings
        {
            Listen = listen,
            ConfigFiles = configs,
            FailMode = parseResult.GetRequiredValue(_failMode) == "allow" ? FailMode.Allow : FailMode.Block,
            MaxConcurrency = maxConcurrency ?? GatewayRunSettings.DefaultMaxConcurrency,
            ApiToken = apiToken,
            Hosted = hosted,
            InstanceId = NonEmpty(env(GatewayRunSettings.InstanceIdVariable)),
            DataDirectory = Path.GetFullPath(NonEmpty(parseResult.GetValue(_dataDir)) ?? NonEmpty(env(GatewayRunSettings.DataDirVariable)) ?? GatewayRunSettings.DefaultDataDir, _console.WorkingDirectory),
            Upstream = upstream,
            UpstreamApiKey = apiKey,
            UpstreamApiKeyHeader = header,
            UpstreamApiKeyPrefix = prefix?.Trim(),
            ApiUrl = apiUrl,
            ShutdownTimeout = TimeSpan.FromSeconds(parseResult.GetRequiredValue(_shutdownTimeout)),
            WatchConfigFiles = !parseResult.GetValue(_noWatch),
            Metrics = metrics,
            Otlp = otlp,
            ServiceNameFromEnvironment = NonEmpty(env(GatewayRunSettings.ServiceNameVariable)) is not null,
            Relay = relay,
            RelayOff = relayOff,
            RelayOffWarns = relayWarn,
        };
        return (settings, []);
    }

    private static MetricsEndpoint ResolveMetrics(string? value, string? apiToken, List<string> problems)
    {
        var metrics = value?.ToLowerInvariant() switch
        {
            null or "on" => MetricsEndpoint.On,
            "off" => MetricsEndpoint.Off,
            "admin" => MetricsEndpoint.Admin,
            _ => (MetricsEndpoint?)null,
        };
        if (metrics is null)
        {
            problems.Add($"{GatewayRunSettings.MetricsVariable} must be on, admin or off, found '{value}'");
            return MetricsEndpoint.On;
        }

        if (metrics == MetricsEndpoint.Admin && apiToken is null)
        {
            problems.Add($"metrics 'admin' needs the api token (--api-token or {GatewayRunSettings.GatewayTokenVariable}) that callers of /metrics must present");
        }

        return metrics.Value;
    }

    private static OtlpSettings? ResolveOtlp(Func<string, string?> env, List<string> problems)
    {
        if (NonEmpty(env(GatewayRunSettings.OtlpEndpointVariable)) is not { } endpointText)
        {
            return null;
        }

        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add($"{GatewayRunSettings.OtlpEndpointVariable} must be an absolute http or https URL");
            return null;
        }

        var protocolText = NonEmpty(env(GatewayRunSettings.OtlpProtocolVariable))?.ToLowerInvariant();
        OtlpExportProtocol? protocol = protocolText switch
        {
            null or "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => null,
        };
        if (protocol is null)
        {
            problems.Add($"{GatewayRunSettings.OtlpProtocolVariable} must be grpc or http/protobuf, found '{protocolText}'");
            return null;
        }

        return new OtlpSettings(endpoint, protocol.Value);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var (settings, problems) = Resolve(parseResult);
        if (settings is null)
        {
            foreach (var problem in problems)
            {
                await _console.Error.WriteLineAsync(KtCommand.OneLine("kt: error: " + problem)).ConfigureAwait(false);
            }

            return ExitCodes.UsageOrIo;
        }

        return await GatewayRunner.RunAsync(settings, _console, cancellationToken).ConfigureAwait(false);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 0x7f || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return name.Length > 0;
    }
}
