using Keeptrusts.Policy.Detection.Injection;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Policies.PromptInjection;

/// <summary>
/// Scores what callers and tools put into the conversation — user messages and tool results (indirect injection)
/// — and blocks or records those at or above the threshold. The system and developer prompts are the operator's own
/// and are not scored; on the output phase, the answer is.
/// </summary>
internal sealed class PromptInjectionPolicy(PromptInjectionOptions options) : IChainPolicy
{
    public const string FindingType = "PROMPT_INJECTION";

    private readonly InjectionDetector _detector = new(PromptInjectionDefinition.DetectorOptions(options));
    private readonly bool _input = options.Phases.Contains(PolicyPhase.Input);
    private readonly bool _output = options.Phases.Contains(PolicyPhase.Output);

    public string Id => PolicyCatalog.PromptInjection;

    public bool AppliesTo(PolicyPhase phase) => phase == PolicyPhase.Input ? _input : _output;

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var best = (Assessment: default(InjectionAssessment), Text: -1);
        for (var t = 0; t < context.Texts.Count; t++)
        {
            if (!Scored(context.Phase, context.View.Texts[t]))
            {
                continue;
            }

            var assessment = _detector.Assess(context.Texts[t]);
            if (assessment.Score > best.Assessment.Score)
            {
                best = (assessment, t);
            }
        }

        if (best.Text < 0 || !_detector.IsInjection(best.Assessment))
        {
            return ValueTask.FromResult(PolicyVerdict.Allowed);
        }

        var a = best.Assessment;
        var categories = Describe(a.Categories);
        var finding = new PolicyFinding(Id, FindingType)
        {
            Text = best.Text,
            Start = a.SignalLength > 0 ? a.SignalStart : null,
            End = a.SignalLength > 0 ? a.SignalStart + a.SignalLength : null,
            Score = Math.Round(a.Score, 4),
            Detail = categories,
        };
        var reason = $"prompt injection detected ({categories}, score {a.Score:0.00} at or above {options.Threshold:0.00})";
        return ValueTask.FromResult(options.Action == InjectionAction.Block
            ? PolicyVerdict.Block(reason, "prompt_injection_detected", [finding])
            : PolicyVerdict.Flag(reason, [finding]));
    }

    private static bool Scored(PolicyPhase phase, ChatText text) => phase == PolicyPhase.Output
        ? text.Role == "assistant" && text.Kind == TextKind.Content
        : text.Role is "user" || text.Kind == TextKind.ToolResult;

    internal static string Describe(InjectionCategory categories)
    {
        var names = new List<string>(6);
        if (categories.HasFlag(InjectionCategory.InstructionOverride))
        {
            names.Add("instruction_override");
        }

        if (categories.HasFlag(InjectionCategory.SystemPromptExtraction))
        {
            names.Add("system_prompt_extraction");
        }

        if (categories.HasFlag(InjectionCategory.RolePlayJailbreak))
        {
            names.Add("role_play_jailbreak");
        }

        if (categories.HasFlag(InjectionCategory.DelimiterAttack))
        {
            names.Add("delimiter_attack");
        }

        if (categories.HasFlag(InjectionCategory.EncodedPayload))
        {
            names.Add("encoded_payload");
        }

        if (categories.HasFlag(InjectionCategory.ModelScore))
        {
            names.Add("model_score");
        }

        return names.Count == 0 ? "injection" : string.Join(",", names);
    }
}
