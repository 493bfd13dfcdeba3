using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Tests.TestSupport;

/// <summary>Documents and engines with one policy in the chain, its settings given as YAML lines.</summary>
internal static class SinglePolicy
{
    /// <summary>The document; settings lines go under <c>policy.&lt;id&gt;</c> and start on line 6.</summary>
    public static string Document(string id, string settings = "") =>
        $"pack: {{name: t, version: 1.0.0}}\npolicies:\n  chain: [{id}]\n"
        + (settings.Length == 0 ? string.Empty : $"policy:\n  {id}:\n    " + settings.Replace("\n", "\n    ", StringComparison.Ordinal) + "\n");

    /// <summary>An engine for the document; fails the test with the findings when the settings do not load.</summary>
    public static PolicyEngine Engine(string id, string settings = "", PolicyEngineOptions? options = null)
    {
        var result = PolicyConfigLoader.Parse(Document(id, settings));
        Assert.True(result.Config is not null, string.Join("\n", result.Diagnostics));
        return PolicyEngine.Create(result.Config!, options);
    }
}
