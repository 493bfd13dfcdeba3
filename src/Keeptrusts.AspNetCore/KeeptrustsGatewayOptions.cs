using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.AspNetCore;

/// <summary>
/// Options of the Keeptrusts gateway endpoints added with <c>services.AddKeeptrustsGateway()</c>. Validated once, at
/// start-up; every problem is reported in one exception.
/// </summary>
public sealed class KeeptrustsGatewayOptions
{
    /// <summary>The default of <see cref="MaxRequestBodyBytes"/>: 10 MiB.</summary>
    public const long DefaultMaxRequestBodyBytes = 10 * 1024 * 1024;

    /// <summary>Configuration files (<c>policy-config.yaml</c>), layered in order: a later file wins.</summary>
    public IList<string> ConfigFiles { get; } = new List<string>();

    /// <summary>A configuration document given in memory, layered after <see cref="ConfigFiles"/>.</summary>
    public string? ConfigYaml { get; set; }

    /// <summary>What a failing policy does (<c>--fail-mode</c>). Default <see cref="FailMode.Block"/>.</summary>
    public FailMode FailMode { get; set; } = FailMode.Block;

    /// <summary>The most concurrent upstream requests (<c>--max-concurrency</c>, <c>KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY</c>). Default 16.</summary>
    public int MaxConcurrency { get; set; } = ProviderRouterOptions.DefaultMaxConcurrency;

    /// <summary>
    /// The token that opens the runtime API under <c>/keeptrusts/</c> (<c>--api-token</c>, <c>KEEPTRUSTS_GATEWAY_TOKEN</c>).
    /// When null, those endpoints answer 404: they are disabled, never open.
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>The largest request body accepted, in bytes; a larger one is answered 413. Default 10 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>Whether a change to any of <see cref="ConfigFiles"/> reloads the configuration (after <see cref="ReloadDebounce"/>).</summary>
    public bool WatchConfigFiles { get; set; }

    /// <summary>How long file changes must settle before a watched reload runs. Default 500 ms.</summary>
    public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long requests still running on a replaced configuration may take to finish before they are cancelled so
    /// the old configuration can be released. Default 5 minutes.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock used by the engine, the router and identity checks. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Identifies this gateway process in decision records and events (<c>instance_id</c>). Default: a random id
    /// generated when the options are created.
    /// </summary>
    public string InstanceId { get; set; } = "gw_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>Where decision records go, besides the policies that record them themselves (such as <c>audit-logger</c>).</summary>
    public IList<IDecisionSink> DecisionSinks { get; } = new List<IDecisionSink>();

    /// <summary>Adjusts the engine options of every configuration revision (sinks, spend store, HTTP clients).</summary>
    public Action<PolicyEngineOptions>? ConfigureEngine { get; set; }

    /// <summary>Adjusts the router options of every configuration revision (queue length, health probes, seed).</summary>
    public Action<ProviderRouterOptions>? ConfigureRouter { get; set; }

    /// <summary>Adjusts the identity options of every configuration revision (JWKS timeouts and caching).</summary>
    public Action<RuntimeIdentityOptions>? ConfigureIdentity { get; set; }
}
