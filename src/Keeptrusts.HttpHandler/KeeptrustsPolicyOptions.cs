using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler;

/// <summary>
/// Options of the Keeptrusts <c>HttpClient</c> handler. With dependency injection, give exactly one source of policy —
/// <see cref="Engine"/>, <see cref="Config"/>, <see cref="ConfigYaml"/> or <see cref="ConfigFiles"/> — or none to use
/// the <see cref="PolicyEngine"/> registered in the container; the engine is built once per named client and shared by
/// every handler instance. A handler created directly (<see cref="KeeptrustsPolicyHandler"/>) takes its engine as an
/// argument and reads only the behaviour options.
/// </summary>
public sealed class KeeptrustsPolicyOptions
{
    /// <summary>An engine built by the caller, who keeps ownership of it (it is not disposed with the container).</summary>
    public PolicyEngine? Engine { get; set; }

    /// <summary>A configuration already loaded.</summary>
    public PolicyConfig? Config { get; set; }

    /// <summary>A <c>policy-config.yaml</c> document as text.</summary>
    public string? ConfigYaml { get; set; }

    /// <summary><c>policy-config.yaml</c> files, layered in order: a later file wins.</summary>
    public IList<string> ConfigFiles { get; } = new List<string>();

    /// <summary>What a failing policy does when the engine is built from configuration. Default <see cref="FailMode.Block"/>.</summary>
    public FailMode FailMode { get; set; } = FailMode.Block;

    /// <summary>Where decision records go, besides policies that record them themselves, when the engine is built from configuration.</summary>
    public IList<IDecisionSink> Sinks { get; } = new List<IDecisionSink>();

    /// <summary>
    /// When true, a block throws <see cref="KeeptrustsPolicyException"/> from <c>SendAsync</c> instead of answering with
    /// the provider's error shape. Default false: callers and SDKs see the same error a gateway would return.
    /// </summary>
    public bool ThrowOnBlock { get; set; }

    /// <summary>
    /// Who a request is from: its user, role, team, conversation. Called once per governed request; the values land in
    /// every decision record (<c>user_id</c>, <c>identity_proof_method</c>). Default: no identity.
    /// </summary>
    public Func<HttpRequestMessage, RequestContext>? RequestContext { get; set; }

    /// <summary>The largest request or non-streamed response body evaluated, in bytes. Default 32 MiB; larger ones are refused.</summary>
    public int MaxBodyBytes { get; set; } = 32 * 1024 * 1024;
}
