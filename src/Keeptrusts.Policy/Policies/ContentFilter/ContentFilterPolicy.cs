using System.Globalization;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.ContentFilter;

/// <summary>
/// Keyword and pattern rules per phase. Every text of the phase is scanned (in the input phase every message of
/// every role, tool results and tool-call arguments included); a deny match lying inside an allow match is not a
/// violation. Findings and reasons name the rule, never the matched text.
/// </summary>
internal sealed class ContentFilterPolicy(string id, ContentFilterAction action, ContentRuleSet? input, ContentRuleSet? output) : IChainPolicy
{
    /// <summary>Enough to explain a decision; a text full of matches must not make the record unbounded.</summary>
    internal const int MaxFindings = 100;

    public const string FindingType = "CONTENT_FILTER";
    public const string BlockCode = "content_blocked";

    public string Id { get; } = id;

    public bool AppliesTo(PolicyPhase phase) => RulesOf(phase) is { HasDeny: true };

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var rules = RulesOf(context.Phase);
        if (rules is not { HasDeny: true })
        {
            return ValueTask.FromResult(PolicyVerdict.Allowed);
        }

        var violations = new List<ContentViolation>();
        var scratch = new List<KeywordMatch>();
        var texts = context.Texts;
        for (var t = 0; t < texts.Count && violations.Count < MaxFindings; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            rules.Scan(texts[t], t, scratch, violations, MaxFindings);
        }

        if (violations.Count == 0)
        {
            return ValueTask.FromResult(PolicyVerdict.Allowed);
        }

        var findings = new PolicyFinding[violations.Count];
        for (var i = 0; i < findings.Length; i++)
        {
            var v = violations[i];
            findings[i] = new PolicyFinding(Id, FindingType) { Text = v.TextIndex, Start = v.Start, End = v.End, Detail = v.Rule };
        }

        var rulesBroken = violations.Select(static v => v.Rule).Distinct(StringComparer.Ordinal).ToList();
        var reason = rulesBroken.Count == 1
            ? $"content matched deny rule {rulesBroken[0]}"
            : string.Create(CultureInfo.InvariantCulture, $"content matched deny rule {rulesBroken[0]} and {rulesBroken.Count - 1} other rule(s)");
        return ValueTask.FromResult(action == ContentFilterAction.Block
            ? PolicyVerdict.Block(reason, BlockCode, findings, PolicyErrors.BlockStatus)
            : PolicyVerdict.Flag(reason, findings));
    }

    private ContentRuleSet? RulesOf(PolicyPhase phase) => phase == PolicyPhase.Input ? input : output;
}
