using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration;

/// <summary>The <c>providers</c> section: where requests go and what happens when a target fails.</summary>
public sealed record ProvidersConfig
{
    /// <summary>The provider targets. Ids are unique, compared case-insensitively.</summary>
    public IReadOnlyList<ProviderTarget> Targets { get; init; } = [];

    /// <summary>When and how often a failed request moves to the next target.</summary>
    public FallbackConfig Fallback { get; init; } = new();

    /// <summary>How the first target of a request is chosen.</summary>
    public RoutingConfig Routing { get; init; } = new();

    /// <summary>Per-target circuit breaking.</summary>
    public CircuitBreakerConfig CircuitBreaker { get; init; } = new();

    /// <summary>Optional active health probes per target.</summary>
    public HealthCheckConfig HealthCheck { get; init; } = new();
}

/// <summary>One upstream a request can be sent to.</summary>
public sealed record ProviderTarget
{
    /// <summary>The target id, used by <c>X-Keeptrusts-Provider</c>, metrics and records.</summary>
    [ConfigRequired(DiagnosticCodes.MissingRequired)]
    public string Id { get; init; } = string.Empty;

    /// <summary>
    /// The provider family: <c>openai</c>, <c>anthropic</c>, <c>echo</c>, <c>file://path</c>, <c>exec:command</c>,
    /// <c>mcp</c>, <c>vercel</c>, <c>anthropic:claude-agent-sdk</c>, or an adapter family (<c>browser</c>,
    /// <c>chatkit</c>, <c>websocket</c>, <c>openai:chatkit:&lt;workflow&gt;</c>, <c>openai:agents</c>) that needs
    /// <see cref="AdapterCommand"/>.
    /// </summary>
    [ConfigRequired(DiagnosticCodes.MissingRequired)]
    public string Provider { get; init; } = string.Empty;

    /// <summary>The default model of the target; a request's own model is used when this is not set.</summary>
    public string? Model { get; init; }

    /// <summary>Price of <see cref="Model"/>, used by spend limits and the <c>cost</c> routing strategy.</summary>
    public ModelPricing? Pricing { get; init; }

    /// <summary>Models this target serves, each with its own pricing. <c>X-Keeptrusts-Model</c> picks among them.</summary>
    public IReadOnlyList<ModelDefinition> Models { get; init; } = [];

    /// <summary>The upstream base URL (absolute http or https).</summary>
    public string? BaseUrl { get; init; }

    /// <summary>Where the upstream credential comes from. Credentials are never written in the document itself.</summary>
    public SecretKeyRef? SecretKeyRef { get; init; }

    /// <summary>The provider type reported in records when it differs from the family, e.g. <c>anthropic</c>.</summary>
    public string? ProviderType { get; init; }

    /// <summary>The wire format spoken upstream: <c>openai</c> (default) or <c>anthropic</c>.</summary>
    public string? Format { get; init; }

    /// <summary>The local runner an adapter family executes.</summary>
    public string? AdapterCommand { get; init; }

    /// <summary>Overrides the request path appended to <see cref="BaseUrl"/> (for MCP, the bridge path instead of <c>/mcp</c>).</summary>
    public string? PathTemplate { get; init; }

    /// <summary>Relative share of traffic under the <c>weighted</c> strategy. Default 1; 0 takes the target out of rotation.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>Timeout of one attempt against this target, in milliseconds. Default 60000.</summary>
    public int TimeoutMs { get; init; } = 60_000;
}

/// <summary>One model served by a target.</summary>
public sealed record ModelDefinition
{
    /// <summary>The model id sent upstream, such as <c>gpt-4o-mini</c>.</summary>
    [ConfigRequired(DiagnosticCodes.MissingRequired)]
    public string Id { get; init; } = string.Empty;

    /// <summary>The model's price.</summary>
    public ModelPricing? Pricing { get; init; }
}

/// <summary>Prices in US dollars per million tokens. Money is decimal: no binary rounding.</summary>
public sealed record ModelPricing
{
    /// <summary>USD per million prompt (input) tokens.</summary>
    public decimal InputUsdPerMillion { get; init; }

    /// <summary>USD per million completion (output) tokens.</summary>
    public decimal OutputUsdPerMillion { get; init; }

    /// <summary>USD per million cached prompt tokens; when not set, cached tokens cost the input price.</summary>
    public decimal? CachedInputUsdPerMillion { get; init; }
}

/// <summary>A reference to a credential: exactly one of <see cref="Env"/> or <see cref="Store"/>.</summary>
public sealed record SecretKeyRef
{
    /// <summary>The environment variable that holds the credential.</summary>
    public string? Env { get; init; }

    /// <summary>The name of a config variable resolved through the control plane.</summary>
    public string? Store { get; init; }
}

/// <summary>What makes a failed attempt move on to the next target.</summary>
public enum FallbackTrigger
{
    /// <summary>HTTP 429.</summary>
    RateLimit,

    /// <summary>HTTP 5xx, connection refused or reset.</summary>
    ServerError,

    /// <summary>An attempt passed its timeout.</summary>
    Timeout,
}

/// <summary>The <c>providers.fallback</c> section.</summary>
public sealed record FallbackConfig
{
    /// <summary>Failures that trigger a fallback. Other failures (400, 401, 404…) are returned as they are.</summary>
    [ConfigInvalidValueCode(DiagnosticCodes.UnknownFallbackTrigger)]
    public IReadOnlyList<FallbackTrigger> Triggers { get; init; } = [FallbackTrigger.RateLimit, FallbackTrigger.ServerError, FallbackTrigger.Timeout];

    /// <summary>Attempts after the first one, 0–10. Default 2.</summary>
    public int MaxFallbackAttempts { get; init; } = 2;

    /// <summary>Backoff before the first fallback attempt, in milliseconds; it doubles per attempt, with jitter. Default 100.</summary>
    public int InitialBackoffMs { get; init; } = 100;

    /// <summary>Upper bound of the backoff, in milliseconds. Default 2000.</summary>
    public int MaxBackoffMs { get; init; } = 2_000;

    /// <summary>Whether an upstream's <c>Retry-After</c> is honoured (up to <see cref="MaxRetryAfterMs"/>). Default true.</summary>
    public bool RespectRetryAfter { get; init; } = true;

    /// <summary>The longest <c>Retry-After</c> that is waited out; a longer one moves straight on. Default 10000.</summary>
    public int MaxRetryAfterMs { get; init; } = 10_000;

    /// <summary>Deadline of a request across all its attempts, in milliseconds. Default 120000.</summary>
    public int OverallTimeoutMs { get; init; } = 120_000;
}

/// <summary>How the first target of a request is chosen.</summary>
public enum RoutingStrategy
{
    /// <summary>Targets in the order they are declared (default).</summary>
    Ordered,

    /// <summary>Each request starts at the next target in turn.</summary>
    RoundRobin,

    /// <summary>Targets chosen at random in proportion to their <see cref="ProviderTarget.Weight"/>.</summary>
    Weighted,

    /// <summary>The target with the lowest recent latency (exponentially weighted moving average).</summary>
    LeastLatency,

    /// <summary>The cheapest target that serves the requested model.</summary>
    Cost,
}

/// <summary>The <c>providers.routing</c> section.</summary>
public sealed record RoutingConfig
{
    /// <summary>The strategy. Fallback then follows the remaining targets in strategy order.</summary>
    [ConfigInvalidValueCode(DiagnosticCodes.UnknownRoutingStrategy)]
    public RoutingStrategy Strategy { get; init; } = RoutingStrategy.Ordered;
}

/// <summary>The <c>providers.circuit_breaker</c> section: stop sending to a target that keeps failing.</summary>
public sealed record CircuitBreakerConfig
{
    /// <summary>Whether breakers are active. Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The failure ratio within the sampling window that opens the breaker, (0, 1]. Default 0.5.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Requests needed in the window before the ratio counts. Default 10.</summary>
    public int MinimumThroughput { get; init; } = 10;

    /// <summary>The sampling window, in milliseconds. Default 30000.</summary>
    public int SamplingDurationMs { get; init; } = 30_000;

    /// <summary>How long an open breaker stays open before one probe request is let through, in milliseconds. Default 30000.</summary>
    public int BreakDurationMs { get; init; } = 30_000;
}

/// <summary>The <c>providers.health_check</c> section: active probes that never send a billed completion.</summary>
public sealed record HealthCheckConfig
{
    /// <summary>Whether active probes run. Passive health from real traffic is always on. Default false.</summary>
    public bool Enabled { get; init; }

    /// <summary>Time between probes of one target, in milliseconds. Default 30000.</summary>
    public int IntervalMs { get; init; } = 30_000;

    /// <summary>Timeout of one probe, in milliseconds. Default 5000.</summary>
    public int TimeoutMs { get; init; } = 5_000;

    /// <summary>The path probed with GET, relative to the target's base URL. Default <c>/v1/models</c>.</summary>
    public string Path { get; init; } = "/v1/models";

    /// <summary>Consecutive failed probes that mark a target unhealthy. Default 3.</summary>
    public int UnhealthyThreshold { get; init; } = 3;

    /// <summary>Consecutive good probes that mark an unhealthy target healthy again. Default 1.</summary>
    public int HealthyThreshold { get; init; } = 1;
}
