namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>Configuration of an <see cref="InjectionDetector"/>. Validated once, when the detector is built.</summary>
internal sealed record InjectionDetectorOptions
{
    /// <summary>
    /// The default decision threshold. Lone weak cues ("act as", "no rules", a "system:" line, rule removal said of
    /// some AI) are weighted at most 0.48, while one explicit construction (an override of prior instructions, a
    /// request for the hidden prompt, "do anything now") or two corroborating weak cues reach 0.5 or more. On the
    /// development corpus 0.35–0.45 would add recall only by also flagging NotInject/WildGuard look-alikes.
    /// </summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>Every category the detector knows.</summary>
    public const InjectionCategory AllCategories =
        InjectionCategory.InstructionOverride | InjectionCategory.SystemPromptExtraction | InjectionCategory.RolePlayJailbreak
        | InjectionCategory.DelimiterAttack | InjectionCategory.EncodedPayload | InjectionCategory.ModelScore;

    /// <summary>Longest deny phrase accepted; longer phrases are almost certainly a configuration mistake.</summary>
    public const int MaxDenyPhraseLength = 200;

    /// <summary>Gets the score at or above which a text is treated as an injection. Must lie in (0, 1].</summary>
    public double Threshold { get; init; } = DefaultThreshold;

    /// <summary>Gets the categories whose signals are evaluated; others contribute nothing.</summary>
    public InjectionCategory EnabledCategories { get; init; } = AllCategories;

    /// <summary>
    /// Gets extra phrases that count as a certain injection wherever they occur as whole words. They are matched
    /// after the same normalisation as the text (case, confusables, zero-width characters, light leetspeak).
    /// </summary>
    public IReadOnlyList<string> DenyPhrases { get; init; } = [];

    /// <summary>
    /// Gets the learned scorer combined with the rules, or <see langword="null"/> for rules only. Defaults to the
    /// model built into the package.
    /// </summary>
    public InjectionModel? Model { get; init; } = InjectionModel.BuiltIn;

    /// <summary>Gets the category reported when a deny phrase matches.</summary>
    public InjectionCategory DenyPhraseCategory { get; init; } = InjectionCategory.InstructionOverride;

    /// <summary>Checks every rule and throws one exception that lists all violations.</summary>
    /// <exception cref="ArgumentException">At least one option is invalid.</exception>
    public void Validate()
    {
        List<string>? errors = null;
        if (double.IsNaN(Threshold) || Threshold <= 0 || Threshold > 1)
        {
            (errors ??= []).Add($"{nameof(Threshold)} must be in (0, 1] but was {Threshold}.");
        }

        if ((EnabledCategories & ~AllCategories) != 0)
        {
            (errors ??= []).Add($"{nameof(EnabledCategories)} contains unknown flags: {EnabledCategories & ~AllCategories}.");
        }

        if (DenyPhraseCategory == InjectionCategory.None || (DenyPhraseCategory & ~AllCategories) != 0)
        {
            (errors ??= []).Add($"{nameof(DenyPhraseCategory)} must be one or more known categories but was {DenyPhraseCategory}.");
        }

        if (DenyPhrases is null)
        {
            (errors ??= []).Add($"{nameof(DenyPhrases)} must not be null.");
        }
        else
        {
            for (var i = 0; i < DenyPhrases.Count; i++)
            {
                var phrase = DenyPhrases[i];
                if (string.IsNullOrWhiteSpace(phrase))
                {
                    (errors ??= []).Add($"{nameof(DenyPhrases)}[{i}] must not be empty.");
                }
                else if (phrase.Length > MaxDenyPhraseLength)
                {
                    (errors ??= []).Add($"{nameof(DenyPhrases)}[{i}] is {phrase.Length} characters; the limit is {MaxDenyPhraseLength}.");
                }
            }
        }

        if (errors is not null)
        {
            throw new ArgumentException("Invalid injection detector options: " + string.Join(" ", errors));
        }
    }
}
