using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Tests.TestSupport;

/// <summary>A policy double whose behaviour is a callback; it counts its calls.</summary>
internal sealed class TestPolicy(string id, Func<PolicyContext, PolicyVerdict> evaluate, params PolicyPhase[] phases) : IChainPolicy
{
    private int _calls;

    public string Id { get; } = id;

    public int Calls => _calls;

    public bool AppliesTo(PolicyPhase phase) => phases.Length == 0 || phases.Contains(phase);

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(evaluate(context));
    }

    public static TestPolicy Allowing(string id) => new(id, _ => PolicyVerdict.Allowed);

    public static TestPolicy Blocking(string id) => new(id, _ => PolicyVerdict.Block("blocked by " + id, id + "_block", []));

    public static TestPolicy Flagging(string id) => new(id, _ => PolicyVerdict.Flag("flagged by " + id, [new PolicyFinding(id, "TEST")]));

    public static TestPolicy Throwing(string id) => new(id, _ => throw new InvalidOperationException("boom: secret sk-live-123"));

    /// <summary>Replaces every occurrence of <paramref name="word"/> in every text with <paramref name="replacement"/>.</summary>
    public static TestPolicy Redacting(string id, string word, string replacement) => new(id, context =>
    {
        var edits = new List<TextEdit>();
        var findings = new List<PolicyFinding>();
        for (var t = 0; t < context.Texts.Count; t++)
        {
            var text = context.Texts[t];
            for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + word.Length, StringComparison.Ordinal))
            {
                edits.Add(new TextEdit(t, i, word.Length, replacement));
                findings.Add(new PolicyFinding(id, "WORD") { Text = t, Start = i, End = i + word.Length });
            }
        }

        return PolicyVerdict.Redact("redacted " + word, findings, edits);
    });
}
