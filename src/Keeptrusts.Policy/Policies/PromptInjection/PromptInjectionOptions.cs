using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.PromptInjection;

/// <summary>What <c>prompt-injection</c> does with a detection.</summary>
internal enum InjectionAction
{
    /// <summary>Reject the request.</summary>
    Block,

    /// <summary>Record it and let the request through.</summary>
    Warn,
}

/// <summary>Settings of <c>prompt-injection</c>.</summary>
internal sealed record PromptInjectionOptions : PolicyOptions
{
    public InjectionAction Action { get; init; } = InjectionAction.Block;

    /// <summary>The score at or above which a text is an injection; 0.5 balances recall against over-blocking.</summary>
    public double Threshold { get; init; } = Detection.Injection.InjectionDetectorOptions.DefaultThreshold;

    /// <summary>Phrases that always count as an injection (whole words, after normalisation).</summary>
    public IReadOnlyList<string> DenyPhrases { get; init; } = [];

    public IReadOnlyList<PolicyPhase> Phases { get; init; } = [PolicyPhase.Input];
}
