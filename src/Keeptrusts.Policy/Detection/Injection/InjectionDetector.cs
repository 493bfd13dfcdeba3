using System.Buffers;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Scores text for prompt injection from structural signals: override constructions aimed at the model's
/// instructions, requests for its hidden prompt, persona jailbreaks, forged delimiters and encoded payloads.
/// </summary>
/// <remarks>
/// <para>
/// The detector is immutable and thread-safe; build one per configuration snapshot and share it. An assessment
/// normalises the text into a pooled (or stack) buffer, runs one vectorised multi-string search for anchors and
/// evaluates a small grammatical rule around each hit. Clean text therefore costs roughly one pass, and no rule
/// uses backtracking regular expressions. Encoded runs are decoded only when the text contains a long
/// whitespace-free run or a rot13/reversed trigger word, with a fixed budget per text.
/// </para>
/// <para>
/// Scores combine the strongest instance of each signal kind as independent evidence (noisy-OR), so a lone weak cue
/// ("act as", "no rules") stays below the default threshold while corroborating cues cross it.
/// </para>
/// </remarks>
internal sealed class InjectionDetector
{
    private const int StackBufferChars = 1024;
    private const int CaseLookupBudget = 8;

    private readonly InjectionAnchorIndex _anchors;
    private readonly InjectionCategory _enabled;
    private readonly InjectionCategory _denyCategory;
    private readonly InjectionModel? _model;

    /// <summary>Initializes a new instance of the <see cref="InjectionDetector"/> class with default options.</summary>
    public InjectionDetector()
        : this(new InjectionDetectorOptions())
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InjectionDetector"/> class.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public InjectionDetector(InjectionDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Threshold = options.Threshold;
        _enabled = options.EnabledCategories;
        _denyCategory = options.DenyPhraseCategory;
        _model = (options.EnabledCategories & InjectionCategory.ModelScore) != 0 ? options.Model : null;

        var anchors = new List<InjectionAnchor>(InjectionAnchors.BuiltIn);
        foreach (var phrase in options.DenyPhrases)
        {
            var normalized = NormalizePhrase(phrase);
            if (normalized.Length > 0)
            {
                anchors.Add(new InjectionAnchor(normalized, InjectionRule.Deny, WordStart: char.IsAsciiLetter(normalized[0])));
            }
        }

        _anchors = new InjectionAnchorIndex(anchors);
    }

    /// <summary>Gets the options this detector was built with.</summary>
    public InjectionDetectorOptions Options { get; }

    /// <summary>Gets the decision threshold.</summary>
    public double Threshold { get; }

    /// <summary>Assesses one text.</summary>
    /// <param name="text">The text to assess (any content; never throws on malformed UTF-16).</param>
    /// <returns>The score, the categories and the span of the strongest signal.</returns>
    public InjectionAssessment Assess(ReadOnlySpan<char> text) => AssessCore(text, allowDecoding: true);

    /// <summary>Returns whether an assessment reaches the configured threshold.</summary>
    public bool IsInjection(in InjectionAssessment assessment) => assessment.Score >= Threshold;

    /// <summary>Assesses decoded payload text; decoding is off so nested encodings cannot multiply the work.</summary>
    internal InjectionAssessment AssessDecoded(ReadOnlySpan<char> text) => AssessCore(text, allowDecoding: false);

    private InjectionAssessment AssessCore(ReadOnlySpan<char> text, bool allowDecoding)
    {
        if (text.IsEmpty)
        {
            return default;
        }

        char[]? rented = null;
        var buffer = text.Length <= StackBufferChars
            ? stackalloc char[text.Length]
            : (rented = ArrayPool<char>.Shared.Rent(text.Length));
        try
        {
            var written = InjectionTextNormalizer.Normalize(text, buffer, out var identityMap);
            var normalized = buffer[..written];
            Span<float> weights = stackalloc float[InjectionSignals.KindCount];
            var evidence = new InjectionEvidence(weights, _enabled, _denyCategory)
            {
                DecodeBudget = allowDecoding ? InjectionPayloads.DecodeBudget : 0,
                CaseLookupBudget = CaseLookupBudget,
            };
            var context = new InjectionScanContext(normalized, text, identityMap, this, allowDecoding);

            _anchors.Scan(context, ref evidence);
            if (allowDecoding && evidence.IsEnabled(InjectionCategory.EncodedPayload))
            {
                InjectionPayloads.ScanEncodedRuns(context, ref evidence);
            }

            var modelEvidence = allowDecoding && _model is not null
                ? InjectionModel.Evidence(_model.Probability(normalized), _model.Threshold)
                : 0;
            return Conclude(text, identityMap, ref evidence, modelEvidence);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static InjectionAssessment Conclude(ReadOnlySpan<char> text, bool identityMap, ref InjectionEvidence evidence, double modelEvidence)
    {
        var ruleScore = evidence.Score();
        var score = InjectionModel.Combine(ruleScore, modelEvidence);
        if (score <= 0)
        {
            return default;
        }

        if (evidence.BestWeight <= 0f)
        {
            // Only the model saw something: there is no rule span to point at.
            return new InjectionAssessment(score, InjectionCategory.ModelScore, 0, 0);
        }

        var categories = evidence.Categories;
        if (modelEvidence >= InjectionDetectorOptions.DefaultThreshold && ruleScore < InjectionDetectorOptions.DefaultThreshold)
        {
            categories |= InjectionCategory.ModelScore;
        }

        int start = evidence.BestStart, end = evidence.BestEnd;
        if (!identityMap && !evidence.BestInSource)
        {
            var sourceStart = InjectionTextNormalizer.MapToSource(text, start);
            var last = InjectionTextNormalizer.MapToSource(text, Math.Max(start, end - 1));
            start = sourceStart;
            end = Math.Min(text.Length, last + InjectionTextNormalizer.CodePointLength(text, Math.Min(last, text.Length - 1)));
        }

        start = Math.Clamp(start, 0, text.Length);
        end = Math.Clamp(end, start, text.Length);
        return new InjectionAssessment(score, categories, start, end - start);
    }

    private static string NormalizePhrase(string phrase)
    {
        var buffer = new char[phrase.Length];
        var written = InjectionTextNormalizer.Normalize(phrase, buffer, out _);
        return string.Join(' ', new string(buffer, 0, written).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }
}
