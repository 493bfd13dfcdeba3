using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies.ModelAllowlist;

namespace Keeptrusts.Policy.Tests.Policies.ModelAllowlist;

internal static class ModelAllowlistTesting
{
    private static readonly PolicyConfig Config = PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}").Config!;

    public static ModelAllowlistPolicy Allowlist(IReadOnlyList<string> models, IReadOnlyList<string>? targets = null) =>
        new("model-allowlist", models, targets ?? []);

    public static PolicyVerdict Evaluate(ModelAllowlistPolicy policy, string? model, string? target = null, params string[] texts)
    {
        var view = new ChatView(ReadOnlyMemory<byte>.Empty, model, [.. texts.Select((t, i) => new ChatText(i % 2 == 0 ? "user" : "assistant", TextKind.Content, i, t, -1, 0))]);
        var context = new PolicyContext(PolicyPhase.Input, view, texts, new RequestContext { TargetId = target }, new ExchangeState(), Config, TimeProvider.System);
        return policy.EvaluateAsync(context, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }
}
