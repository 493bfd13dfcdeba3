using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.Policy.Evaluation;
using OpenTelemetry.Exporter;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>
/// Everything <c>kt gateway run</c> was told, from flags and environment variables (a flag beats its variable).
/// <see cref="ToString"/> and <see cref="Describe"/> mask every secret.
/// </summary>
internal sealed record GatewayRunSettings
{
    public const string MaxConcurrencyVariable = "KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY";
    public const string GatewayTokenVariable = "KEEPTRUSTS_GATEWAY_TOKEN";
    public const string UpstreamUrlVariable = "KEEPTRUSTS_UPSTREAM_URL";
    public const string UpstreamApiKeyVariable = "KEEPTRUSTS_UPSTREAM_API_KEY";
    public const string UpstreamApiKeyHeaderVariable = "KEEPTRUSTS_UPSTREAM_API_KEY_HEADER";
    public const string UpstreamApiKeyPrefixVariable = "KEEPTRUSTS_UPSTREAM_API_KEY_PREFIX";
    public const string ApiUrlVariable = "KEEPTRUSTS_API_URL";
    public const string MetricsVariable = "KEEPTRUSTS_METRICS";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string OtlpProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";
    public const string DataDirVariable = "KEEPTRUSTS_DATA_DIR";
    public const string InstanceIdVariable = "KEEPTRUSTS_INSTANCE_ID";
    public const string DefaultDataDir = ".keeptrusts";
    public const string DefaultConfigFile = "policy-config.yaml";
    public const int DefaultMaxConcurrency = 16;

    public ListenAddress Listen { get; init; } = ListenAddress.Default;

    /// <summary>The configuration files, in layering order (later wins).</summary>
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];

    public FailMode FailMode { get; init; } = FailMode.Block;

    public int MaxConcurrency { get; init; } = DefaultMaxConcurrency;

    /// <summary>The runtime token: guards the admin endpoints and authenticates event reporting.</summary>
    public string? ApiToken { get; init; }

    /// <summary>Break-glass override: every request goes to this OpenAI-compatible URL instead of the configured targets.</summary>
    public Uri? Upstream { get; init; }

    public string? UpstreamApiKey { get; init; }

    /// <summary>The header that carries upstream credentials; <see langword="null"/> keeps each provider's own (<c>Authorization</c> for OpenAI-format targets).</summary>
    public string? UpstreamApiKeyHeader { get; init; }

    /// <summary>The prefix before the credential; <see langword="null"/> keeps each provider's own (<c>Bearer</c> for OpenAI-format targets).</summary>
    public string? UpstreamApiKeyPrefix { get; init; }

    /// <summary>The control plane (<c>KEEPTRUSTS_API_URL</c>): decision events go to its <c>/v1/events</c>.</summary>
    public Uri? ApiUrl { get; init; }

    /// <summary>How long a shutdown waits for in-flight requests before cutting them off.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a client may take to send its request headers before it gets 408. Not a flag; tests shorten it.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a request body may arrive below the minimum data rate before the connection is cut (more than 1 s). Not a flag; tests shorten it.</summary>
    public TimeSpan BodyDataRateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The data directory (<c>--data-dir</c>, <c>KEEPTRUSTS_DATA_DIR</c>): the event spool and the instance id, absolute.</summary>
    public string DataDirectory { get; init; } = Path.GetFullPath(DefaultDataDir);

    /// <summary>The most bytes the event spool holds before its oldest segment is dropped. Default 1 GiB.</summary>
    public long MaxSpoolBytes { get; init; } = Reporting.EventReportingOptions.DefaultMaxSpoolBytes;

    /// <summary>This gateway's <c>instance_id</c> (<c>KEEPTRUSTS_INSTANCE_ID</c>); null: kept in the data directory, or random without a control plane.</summary>
    public string? InstanceId { get; init; }

    /// <summary>Adjusts hosted-mode settings (cache times); tests shorten them.</summary>
    public Func<Tenancy.HostedTenantOptions, Tenancy.HostedTenantOptions>? HostedOptions { get; init; }

    /// <summary>Hosted mode: no configuration of its own; each caller's gateway key selects a configuration from the control plane.</summary>
    public bool Hosted { get; init; }

    /// <summary>Whether configuration files are watched and reloaded when they change.</summary>
    public bool WatchConfigFiles { get; init; } = true;

    /// <summary>Who may read Prometheus text at <c>/metrics</c>.</summary>
    public MetricsEndpoint Metrics { get; init; } = MetricsEndpoint.On;

    /// <summary>Where spans and metrics are exported over OTLP; null when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is not set.</summary>
    public OtlpSettings? Otlp { get; init; }

    /// <summary>Whether <c>OTEL_SERVICE_NAME</c> names the service (the SDK reads it); else it is <c>keeptrusts-gateway</c>.</summary>
    public bool ServiceNameFromEnvironment { get; init; }
    /// <summary>The relay (docs/relay.md): its options when it runs, null when it is off.</summary>
    public RelayOptions? Relay { get; init; }

    /// <summary>Why the relay is off, when it is (for the log and <c>/health</c>).</summary>
    public string RelayOff { get; init; } = "not a connected gateway (KEEPTRUSTS_API_URL is not set)";

    /// <summary>Whether the relay is off because something it needs is missing (logged as a warning at start).</summary>
    public bool RelayOffWarns { get; init; }

    /// <summary>One line per setting for the startup banner; secrets appear as <c>set</c> or <c>not set</c>.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"listen: {Listen}";
        yield return Hosted ? "policy config: hosted (per gateway key, from the control plane)" : $"policy config: {string.Join(", ", ConfigFiles)}";
        yield return $"fail mode: {(FailMode == FailMode.Allow ? "allow" : "block")}";
        yield return $"max concurrency: {MaxConcurrency}";
        yield return $"api token: {Mask(ApiToken)}";
        if (Upstream is not null)
        {
            yield return $"upstream override: {Upstream.GetLeftPart(UriPartial.Path)} (api key {Mask(UpstreamApiKey)})";
        }

        if (UpstreamApiKeyHeader is not null || UpstreamApiKeyPrefix is not null)
        {
            yield return $"upstream credential header: {UpstreamApiKeyHeader ?? "Authorization"}: {(UpstreamApiKeyPrefix is null ? "Bearer" : UpstreamApiKeyPrefix.Length == 0 ? "(no prefix)" : UpstreamApiKeyPrefix)} <key>";
        }

        yield return $"control plane: {(ApiUrl is null ? "not set" : ApiUrl.GetLeftPart(UriPartial.Path))}";
        yield return $"metrics: {Metrics switch { MetricsEndpoint.Off => "off", MetricsEndpoint.Admin => "/metrics (admin token)", _ => "/metrics" }}";
        if (Otlp is not null)
        {
            yield return $"otlp: {Otlp.Endpoint.GetLeftPart(UriPartial.Path)} ({(Otlp.Protocol == OtlpExportProtocol.HttpProtobuf ? "http/protobuf" : "grpc")})";
        }

        if (ApiUrl is not null)
        {
            yield return $"data dir: {DataDirectory}";
        }

        yield return $"relay: {(Relay is null ? "off (" + RelayOff + ")" : Relay.ToString())}";
    }

    public override string ToString() => string.Join("; ", Describe());

    private static string Mask(string? secret) => string.IsNullOrEmpty(secret) ? "not set" : "set";
}
