namespace Keeptrusts.Policy.Evaluation;

/// <summary>The outcome of evaluating one phase of an exchange.</summary>
public sealed record PolicyEvaluation
{
    /// <summary>The explainable record of the decision.</summary>
    public required DecisionRecord Record { get; init; }

    /// <summary>The final decision.</summary>
    public PolicyDecision Decision => Record.Decision;

    /// <summary>Whether the exchange must not continue.</summary>
    public bool IsBlocked => Record.Decision == PolicyDecision.Block;

    /// <summary>The body to send on: the original bytes, or a copy with only the redacted strings rewritten.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The evaluated texts after redaction, in exchange order.</summary>
    public IReadOnlyList<string> Texts { get; init; } = [];
}
