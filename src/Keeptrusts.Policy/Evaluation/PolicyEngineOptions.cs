using Keeptrusts.Policy.Policies;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>Options of a <see cref="PolicyEngine"/>.</summary>
public sealed class PolicyEngineOptions
{
    /// <summary>What a failing policy does. Default <see cref="FailMode.Block"/>.</summary>
    public FailMode FailMode { get; set; } = FailMode.Block;

    /// <summary>The clock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where decision records go, besides the policies that record them themselves (such as <c>audit-logger</c>).</summary>
    public IList<IDecisionSink> Sinks { get; } = new List<IDecisionSink>();

    /// <summary>Where spend limits count spend. Default: in this process's memory.</summary>
    public ISpendStore? SpendStore { get; set; }

    /// <summary>Creates HTTP clients for policies that call out. Default: one shared <see cref="HttpClient"/>.</summary>
    public Func<HttpClient>? HttpClientFactory { get; set; }

    /// <summary>
    /// When set, policies that write files (the audit log) accept records at once but start writing only when this
    /// task completes. Set it when the engine replaces another one that writes the same files, and complete it once
    /// the old engine is disposed: the files are then never open twice and the hash chain continues in order.
    /// </summary>
    public Task? WritesStartAfter { get; set; }
}
