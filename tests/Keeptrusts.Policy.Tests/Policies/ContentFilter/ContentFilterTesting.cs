using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies.ContentFilter;

namespace Keeptrusts.Policy.Tests.Policies.ContentFilter;

/// <summary>Builds content-filter policies straight from rules and runs them over plain texts.</summary>
internal static class ContentFilterTesting
{
    private static readonly PolicyConfig Config = PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}").Config!;

    /// <summary>A policy with the widest match timeout unless a test is about timeouts: tests share a busy machine.</summary>
    public static ContentFilterPolicy Filter(ContentFilterRules input, bool caseSensitive = false, ContentFilterAction action = ContentFilterAction.Block, ContentFilterRules? output = null, int timeoutMs = 1000) =>
        new("content-filter", action, new ContentRuleSet("input", input, caseSensitive, timeoutMs), output is null ? null : new ContentRuleSet("output", output, caseSensitive, timeoutMs));

    public static PolicyVerdict Evaluate(ContentFilterPolicy policy, PolicyPhase phase, params string[] texts)
    {
        var view = new ChatView(ReadOnlyMemory<byte>.Empty, null, [.. texts.Select((t, i) => new ChatText(phase == PolicyPhase.Input ? "user" : "assistant", TextKind.Content, i, t, -1, 0))]);
        var context = new PolicyContext(phase, view, texts, new RequestContext(), new ExchangeState(), Config, TimeProvider.System);
        return policy.EvaluateAsync(context, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    public static PolicyVerdict Evaluate(ContentFilterPolicy policy, params string[] texts) => Evaluate(policy, PolicyPhase.Input, texts);
}
