namespace Keeptrusts.Policy.Evaluation;

/// <summary>A replacement of <c>Length</c> characters at <c>Start</c> of text <c>TextIndex</c>, in the text the policy saw.</summary>
internal readonly record struct TextEdit(int TextIndex, int Start, int Length, string Replacement);

/// <summary>What one policy decided, as a value. Policies return verdicts; they do not throw to block.</summary>
internal sealed class PolicyVerdict
{
    public static readonly PolicyVerdict Allowed = new(PolicyDecision.Allow, null, [], []);

    private PolicyVerdict(PolicyDecision decision, string? reason, IReadOnlyList<PolicyFinding> findings, IReadOnlyList<TextEdit> edits, int status = 0, string? code = null)
    {
        Decision = decision;
        Reason = reason;
        Findings = findings;
        Edits = edits;
        Status = status;
        Code = code;
    }

    public PolicyDecision Decision { get; }

    public string? Reason { get; }

    /// <summary>Findings with offsets in the texts the policy saw; the chain maps them back to the texts as they arrived.</summary>
    public IReadOnlyList<PolicyFinding> Findings { get; }

    /// <summary>Non-overlapping edits, for <see cref="PolicyDecision.Redact"/>.</summary>
    public IReadOnlyList<TextEdit> Edits { get; }

    /// <summary>HTTP status for a block (400 or 403 by default: see <see cref="PolicyErrors"/>).</summary>
    public int Status { get; }

    /// <summary>Machine-readable code for a block, such as <c>pii_detected</c>.</summary>
    public string? Code { get; }

    public static PolicyVerdict Allow(IReadOnlyList<PolicyFinding>? findings = null) =>
        findings is null || findings.Count == 0 ? Allowed : new(PolicyDecision.Allow, null, findings, []);

    public static PolicyVerdict Flag(string reason, IReadOnlyList<PolicyFinding> findings) => new(PolicyDecision.Flag, reason, findings, []);

    public static PolicyVerdict Redact(string reason, IReadOnlyList<PolicyFinding> findings, IReadOnlyList<TextEdit> edits) =>
        edits.Count == 0 ? Allow(findings) : new(PolicyDecision.Redact, reason, findings, edits);

    public static PolicyVerdict Block(string reason, string code, IReadOnlyList<PolicyFinding> findings, int status = PolicyErrors.BlockStatus) =>
        new(PolicyDecision.Block, reason, findings, [], status, code);
}

/// <summary>Statuses and codes callers get.</summary>
internal static class PolicyErrors
{
    /// <summary>A policy refused the content: 400, like a provider's own content refusal, so SDKs raise a bad-request error.</summary>
    public const int BlockStatus = 400;

    /// <summary>A policy refused the caller (identity, allowlist, budget): 403.</summary>
    public const int ForbiddenStatus = 403;

    /// <summary>A policy failed under fail mode block: 503, so clients may retry.</summary>
    public const int PolicyFailureStatus = 503;

    public const string PolicyFailureCode = "policy_unavailable";
}
