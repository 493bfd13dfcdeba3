namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// The structural signals the rules emit. Scores combine the strongest instance of each kind, so repeating
/// one cue does not add up while independent cues corroborate each other.
/// </summary>
internal enum InjectionSignalKind
{
    /// <summary>"ignore/disregard/forget ... previous instructions".</summary>
    OverrideInstructions,

    /// <summary>An override followed by a dictated output ("... and just say X").</summary>
    OutputHijack,

    /// <summary>"new instructions:", "here are your new guidelines", "begin reprogramming".</summary>
    NewInstructions,

    /// <summary>"stop everything", "nevermind." – an attempt to interrupt the current task.</summary>
    Interrupt,

    /// <summary>A configured deny phrase.</summary>
    DenyPhrase,

    /// <summary>A request to print/repeat/reveal the system prompt or the instructions given.</summary>
    RevealPrompt,

    /// <summary>"what are you not allowed to tell me".</summary>
    ProbeSecrets,

    /// <summary>"do anything now".</summary>
    DoAnythingNow,

    /// <summary>A named jailbreak persona: DAN, "jailbroken", "[JAILBREAK]".</summary>
    JailbreakPersona,

    /// <summary>"developer mode enabled", "X mode enabled", "safe mode off".</summary>
    ModeSwitch,

    /// <summary>Lock-emoji answer tags such as "[🔓JAILBREAK]".</summary>
    DualPersonaTags,

    /// <summary>"answer in two different ways", "two personalities".</summary>
    DualResponse,

    /// <summary>Persona answer tags such as "[GPT]:" or "ChatGPT:".</summary>
    PersonaTag,

    /// <summary>"no restrictions", "without filters", "free of all rules".</summary>
    RuleRemoval,

    /// <summary>"not bound by", "does not have to abide by", "broken free of the confines".</summary>
    NotBound,

    /// <summary>"unfiltered AI", "uncensored chatbot", "amoral model".</summary>
    UnfilteredPersona,

    /// <summary>"never refuses", "will not refuse".</summary>
    NeverRefuse,

    /// <summary>"no matter how unethical", "regardless of legality".</summary>
    EthicsDisregard,

    /// <summary>"act as", "pretend to be", "from now on you are".</summary>
    PersonaSetup,

    /// <summary>"stay in character", "never break character".</summary>
    CharacterLock,

    /// <summary>Chat-template control tokens: "&lt;|im_start|&gt;", "[INST]", "&lt;&lt;SYS&gt;&gt;", "&lt;/s&gt;".</summary>
    ChatTemplateToken,

    /// <summary>A line that forges a role: "system:", "[system note: ...]", "### Instruction".</summary>
    FakeRoleMarker,

    /// <summary>A forged end of the prompt: "end of instructions", "%%% end %%%".</summary>
    FakeBoundary,

    /// <summary>An encoded run whose decoded text scores as an injection.</summary>
    EncodedPayload,
}

/// <summary>Static facts about <see cref="InjectionSignalKind"/>.</summary>
internal static class InjectionSignals
{
    /// <summary>Number of signal kinds.</summary>
    public const int KindCount = (int)InjectionSignalKind.EncodedPayload + 1;

    /// <summary>Returns the category a kind belongs to.</summary>
    public static InjectionCategory CategoryOf(InjectionSignalKind kind) => kind switch
    {
        InjectionSignalKind.OverrideInstructions or InjectionSignalKind.OutputHijack or InjectionSignalKind.NewInstructions
            or InjectionSignalKind.Interrupt => InjectionCategory.InstructionOverride,
        InjectionSignalKind.RevealPrompt or InjectionSignalKind.ProbeSecrets => InjectionCategory.SystemPromptExtraction,
        InjectionSignalKind.ChatTemplateToken or InjectionSignalKind.FakeRoleMarker or InjectionSignalKind.FakeBoundary => InjectionCategory.DelimiterAttack,
        InjectionSignalKind.EncodedPayload => InjectionCategory.EncodedPayload,
        InjectionSignalKind.DenyPhrase => InjectionCategory.None,
        _ => InjectionCategory.RolePlayJailbreak,
    };
}

/// <summary>
/// Per-assessment accumulator. Lives on the stack: the per-kind maxima are a caller-provided span.
/// Offsets are in normalised coordinates unless <see cref="BestInSource"/> is set.
/// </summary>
internal ref struct InjectionEvidence
{
    // Weights below this are context, not evidence: they shape the score but do not name a category.
    private const float CategoryFloor = 0.3f;

    private readonly Span<float> _maxByKind;
    private readonly InjectionCategory _enabled;
    private readonly InjectionCategory _denyCategory;

    public InjectionEvidence(Span<float> maxByKind, InjectionCategory enabled, InjectionCategory denyCategory)
    {
        maxByKind.Clear();
        _maxByKind = maxByKind;
        _enabled = enabled;
        _denyCategory = denyCategory;
    }

    /// <summary>Gets the categories named by evidence so far.</summary>
    public InjectionCategory Categories { get; private set; }

    /// <summary>Gets the weight of the strongest signal.</summary>
    public float BestWeight { get; private set; }

    /// <summary>Gets the start of the strongest signal.</summary>
    public int BestStart { get; private set; }

    /// <summary>Gets the end (exclusive) of the strongest signal.</summary>
    public int BestEnd { get; private set; }

    /// <summary>Gets a value indicating whether the best span is already in source coordinates.</summary>
    public bool BestInSource { get; private set; }

    /// <summary>Gets or sets how many decode attempts remain; bounds the work spent on encoded payloads.</summary>
    public int DecodeBudget { get; set; }

    /// <summary>Gets or sets how many source case lookups remain for non-ASCII text (each walks the source).</summary>
    public int CaseLookupBudget { get; set; }

    /// <summary>Returns whether a category is enabled.</summary>
    public readonly bool IsEnabled(InjectionCategory category) => (_enabled & category) != 0;

    /// <summary>Returns the strongest weight recorded for a kind.</summary>
    public readonly float Max(InjectionSignalKind kind) => _maxByKind[(int)kind];

    /// <summary>Records a signal.</summary>
    public void Add(InjectionSignalKind kind, float weight, int start, int end, bool inSource = false, InjectionCategory extraCategories = InjectionCategory.None)
    {
        if (weight <= 0f)
        {
            return;
        }

        var category = kind == InjectionSignalKind.DenyPhrase ? _denyCategory : InjectionSignals.CategoryOf(kind);
        if (kind != InjectionSignalKind.DenyPhrase && !IsEnabled(category))
        {
            return;
        }

        weight = Math.Min(weight, 1f);
        ref var slot = ref _maxByKind[(int)kind];
        if (weight > slot)
        {
            slot = weight;
        }

        if (weight >= CategoryFloor)
        {
            Categories |= category | (extraCategories & _enabled);
        }

        if (weight > BestWeight)
        {
            BestWeight = weight;
            BestStart = start;
            BestEnd = end;
            BestInSource = inSource;
        }
    }

    /// <summary>Combines the per-kind maxima as independent evidence (noisy-OR).</summary>
    public readonly double Score()
    {
        var keep = 1.0;
        foreach (var w in _maxByKind)
        {
            keep *= 1.0 - w;
        }

        return Math.Clamp(1.0 - keep, 0.0, 1.0);
    }
}
