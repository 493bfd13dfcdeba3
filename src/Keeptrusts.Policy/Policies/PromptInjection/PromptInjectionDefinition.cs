using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Detection.Injection;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.PromptInjection;

/// <summary>The <c>prompt-injection</c> policy: instruction overrides, prompt extraction, jailbreaks and their encodings.</summary>
internal sealed class PromptInjectionDefinition : PolicyDefinition<PromptInjectionOptions>
{
    /// <summary>Below this, ordinary prompts that merely mention "ignore" or "system" start to be blocked.</summary>
    public const double OverBlockingThreshold = 0.3;

    public override string Id => PolicyCatalog.PromptInjection;

    internal static InjectionDetectorOptions DetectorOptions(PromptInjectionOptions options) => new()
    {
        Threshold = options.Threshold,
        DenyPhrases = options.DenyPhrases,
    };

    protected override void Check(PromptInjectionOptions options, PolicyCheckContext context)
    {
        for (var i = 0; i < options.DenyPhrases.Count; i++)
        {
            var phrase = options.DenyPhrases[i];
            if (string.IsNullOrWhiteSpace(phrase) || phrase.Length > InjectionDetectorOptions.MaxDenyPhraseLength)
            {
                context.Report(DiagnosticCodes.InjectionDenyPhraseInvalid, $"deny_phrases[{i}] must be between 1 and {InjectionDetectorOptions.MaxDenyPhraseLength} characters", $"deny_phrases[{i}]");
            }
        }

        if (options.Threshold <= 0)
        {
            context.Report(DiagnosticCodes.InjectionThresholdZero, "a threshold of 0 would block every request; use a score above 0 (0.5 is the measured balance)", "threshold");
        }
        else if (options.Threshold < OverBlockingThreshold)
        {
            context.Report(DiagnosticCodes.InjectionThresholdLow, $"a threshold of {options.Threshold} flags single weak cues such as 'act as' or a line starting with 'system:'; ordinary prompts will be blocked. 0.5 is the measured balance (docs/policy-quality.md)", "threshold");
        }
    }

    protected override IChainPolicy Create(PromptInjectionOptions options, PolicyConfig config, PolicyServices services) =>
        new PromptInjectionPolicy(options);
}
