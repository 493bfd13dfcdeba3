using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>What a stream guard lets through after a delta (or at the end).</summary>
public readonly record struct StreamStep
{
    /// <summary>Text that is safe to send to the caller now, already redacted; may be empty.</summary>
    public string Emit { get; init; }

    /// <summary>Set when the stream must end: the caller gets an error instead of the rest.</summary>
    public DecisionRecord? Blocked { get; init; }
}

/// <summary>
/// Applies the output policies to a streamed answer while it streams. Each choice's text is evaluated as a whole as it
/// grows, so a secret split across chunks is still seen; text is released as soon as nothing found or still forming
/// can reach back into it. What is held back is the last <see cref="HoldBack"/> characters, extended to the start of an
/// unbroken token (a key or token has no spaces) or of a finding that touches the tail — never the whole response.
/// One decision record covers the whole stream and is published when it completes or is blocked.
/// </summary>
public sealed class PolicyOutputStream
{
    /// <summary>Characters always held back: longer than any e-mail, card, IBAN, phone number or IP address.</summary>
    public const int HoldBack = 64;

    /// <summary>The most a single unbroken token may hold back before it is released anyway.</summary>
    public const int MaxTokenHoldBack = 16 * 1024;

    /// <summary>Characters of already released text evaluated again in front of new text, for context-dependent detectors.</summary>
    private const int ContextLength = 64;

    private readonly PolicyExchange _exchange;
    private readonly PolicyEngine _engine;
    private readonly Dictionary<int, ChoiceState> _choices = [];
    private readonly List<PolicyOutcome> _outcomes = [];
    private PolicyDecision _decision;
    private bool _finished;

    internal PolicyOutputStream(PolicyExchange exchange, PolicyEngine engine)
    {
        _exchange = exchange;
        _engine = engine;
    }

    /// <summary>Adds a text delta of a choice and returns what may be sent on.</summary>
    /// <param name="choiceIndex">The choice the delta belongs to (0 for most requests).</param>
    /// <param name="delta">The new text.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The text to emit now, or a block.</returns>
    public async ValueTask<StreamStep> AppendAsync(int choiceIndex, string delta, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ObjectDisposedException.ThrowIf(_finished, this);
        if (!_choices.TryGetValue(choiceIndex, out var choice))
        {
            _choices[choiceIndex] = choice = new ChoiceState();
        }

        choice.Pending += delta;
        return await ReleaseAsync(choice, final: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends one choice before the stream ends, when its text is known to be complete (an Anthropic content block that
    /// stopped, a tool call that arrived whole): evaluates and releases everything it still holds. The stream's record
    /// is still published by <see cref="CompleteAsync"/>.
    /// </summary>
    /// <param name="choiceIndex">The choice.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The rest of the choice's text, or a block.</returns>
    public async ValueTask<StreamStep> CompleteChoiceAsync(int choiceIndex, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        return _choices.TryGetValue(choiceIndex, out var choice)
            ? await ReleaseAsync(choice, final: true, cancellationToken).ConfigureAwait(false)
            : new StreamStep { Emit = string.Empty };
    }

    /// <summary>Ends the stream: evaluates and releases everything still held, per choice, and publishes the record.</summary>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The remaining text per choice index, or a block.</returns>
    public async ValueTask<(IReadOnlyDictionary<int, string> Remaining, DecisionRecord Record)> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        var remaining = new Dictionary<int, string>();
        foreach (var (index, choice) in _choices)
        {
            var step = await ReleaseAsync(choice, final: true, cancellationToken).ConfigureAwait(false);
            if (step.Blocked is { } blocked)
            {
                return (new Dictionary<int, string>(), blocked);
            }

            remaining[index] = step.Emit;
        }

        _finished = true;
        var record = Record(null);
        await _engine.PublishAsync(record, cancellationToken).ConfigureAwait(false);
        return (remaining, record);
    }

    private async ValueTask<StreamStep> ReleaseAsync(ChoiceState choice, bool final, CancellationToken cancellationToken)
    {
        var pending = choice.Pending;
        if (pending.Length == 0)
        {
            return new StreamStep { Emit = string.Empty };
        }

        // The tail of what was already released goes in front as left context, so findings that depend on earlier
        // words ("SSN" before a bare nine-digit number) are still seen; findings inside it were reported already.
        var context = choice.Context;
        var whole = await EvaluateAsync(context + pending, cancellationToken).ConfigureAwait(false);
        if (whole.IsBlocked)
        {
            return await BlockAsync(whole, choice, context.Length, cancellationToken).ConfigureAwait(false);
        }

        var cut = final ? pending.Length : SafeCut(context + pending, whole.Record) - context.Length;
        if (cut <= 0)
        {
            return new StreamStep { Emit = string.Empty };
        }

        // The released prefix is evaluated with its left context only: nothing found reaches across the cut, so its
        // verdicts are the ones the whole text would get for that part.
        var released = pending[..cut];
        var part = cut == pending.Length ? whole : await EvaluateAsync(context + released, cancellationToken).ConfigureAwait(false);
        if (part.IsBlocked)
        {
            return await BlockAsync(part, choice, context.Length, cancellationToken).ConfigureAwait(false);
        }

        string emit;
        int lastFindingEnd;
        if (part.Texts[0].StartsWith(context, StringComparison.Ordinal))
        {
            emit = part.Texts[0][context.Length..];
            Accumulate(part.Record, choice.Released - context.Length, context.Length);
            lastFindingEnd = LastFindingEnd(part.Record);
        }
        else
        {
            // An edit reached into the context, which is already out: judge the released part on its own.
            part = await EvaluateAsync(released, cancellationToken).ConfigureAwait(false);
            if (part.IsBlocked)
            {
                return await BlockAsync(part, choice, 0, cancellationToken).ConfigureAwait(false);
            }

            emit = part.Texts[0];
            Accumulate(part.Record, choice.Released, 0);
            lastFindingEnd = context.Length + LastFindingEnd(part.Record);
        }

        choice.Released += cut;
        choice.Pending = pending[cut..];
        var joined = context + released;
        var keep = Math.Min(joined.Length, ContextLength);
        // The context starts after the last finding, so a redacted value is not found (and edited) again next time.
        var from = Math.Max(joined.Length - keep, Math.Min(lastFindingEnd, joined.Length));
        if (from > 0 && from < joined.Length && char.IsLowSurrogate(joined[from]))
        {
            from++;
        }

        choice.Context = joined[from..];
        return new StreamStep { Emit = emit };
    }

    private static int LastFindingEnd(DecisionRecord record)
    {
        var last = 0;
        foreach (var outcome in record.Policies)
        {
            foreach (var finding in outcome.Findings)
            {
                if (finding.End is { } end && end > last)
                {
                    last = end;
                }
            }
        }

        return last;
    }

    private static int SafeCut(string pending, DecisionRecord record)
    {
        var cut = Math.Max(0, pending.Length - HoldBack);

        // Keys and tokens have no white space: never cut inside an unbroken run that reaches the held tail.
        var runStart = cut;
        while (runStart > 0 && !char.IsWhiteSpace(pending[runStart - 1]) && pending.Length - runStart < MaxTokenHoldBack)
        {
            runStart--;
        }

        cut = runStart;

        // Nor inside anything found: it may still grow.
        foreach (var finding in record.Policies.SelectMany(static p => p.Findings))
        {
            if (finding.Start is { } start && finding.End is { } end && start < cut && end > cut - 1)
            {
                cut = Math.Min(cut, start);
            }
        }

        // Never split a surrogate pair.
        if (cut > 0 && cut < pending.Length && char.IsHighSurrogate(pending[cut - 1]))
        {
            cut--;
        }

        return cut;
    }

    private ValueTask<PolicyEvaluation> EvaluateAsync(string text, CancellationToken cancellationToken) =>
        _exchange.EvaluateAsync(PolicyPhase.Output, ChatView.FromAssistantText(text), cancellationToken, publish: false);

    private async ValueTask<StreamStep> BlockAsync(PolicyEvaluation evaluation, ChoiceState choice, int contextLength, CancellationToken cancellationToken)
    {
        Accumulate(evaluation.Record, choice.Released - contextLength, contextLength);
        _finished = true;
        var record = Record(evaluation.Record);
        await _engine.PublishAsync(record, cancellationToken).ConfigureAwait(false);
        return new StreamStep { Emit = string.Empty, Blocked = record };
    }

    /// <summary>Adds a part's outcomes, with finding offsets moved by <paramref name="offset"/>; findings that end within the first <paramref name="skip"/> characters (the left context) were counted before.</summary>
    private void Accumulate(DecisionRecord record, int offset, int skip)
    {
        if (record.Decision > _decision)
        {
            _decision = record.Decision;
        }

        foreach (var outcome in record.Policies)
        {
            if (outcome.Decision == PolicyDecision.Allow && outcome.Findings.Count == 0 && outcome.Error is null)
            {
                continue;
            }

            var findings = outcome.Findings
                .Where(f => skip == 0 || f.End is not { } end || end > skip)
                .Select(f => f.Start is { } s && f.End is { } e ? f with { Start = s + offset, End = e + offset } : f)
                .ToArray();
            if (findings.Length == 0 && outcome.Findings.Count > 0 && outcome.Error is null)
            {
                continue;
            }

            _outcomes.Add(outcome with { Findings = findings });
        }
    }

    private DecisionRecord Record(DecisionRecord? blocking)
    {
        return PolicyChain.NewRecord(
            _engine.Config,
            PolicyPhase.Output,
            _exchange.Context,
            _engine.FailMode,
            blocking?.Timestamp ?? _engine.UtcNow,
            model: null,
            blocking?.Decision ?? _decision,
            _outcomes.ToArray(),
            blocking?.BlockedBy,
            blocking?.Reason,
            blocking?.Code,
            blocking?.Status);
    }

    private sealed class ChoiceState
    {
        public string Pending { get; set; } = string.Empty;

        public int Released { get; set; }

        public string Context { get; set; } = string.Empty;
    }
}
