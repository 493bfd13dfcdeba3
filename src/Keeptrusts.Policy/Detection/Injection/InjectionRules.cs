using static Keeptrusts.Policy.Detection.Injection.InjectionLexicon;
using static Keeptrusts.Policy.Detection.Injection.InjectionWords;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>Which rule an anchor triggers.</summary>
internal enum InjectionRule : byte
{
    /// <summary>Override verb ("ignore", "disregard" ...).</summary>
    Override,

    /// <summary>"do not follow", "stop following".</summary>
    NegatedFollow,

    /// <summary>"set aside", "put aside".</summary>
    Aside,

    /// <summary>"prompt", "instructions" ... as the object of a disclosure, or "new instructions".</summary>
    DirectiveNoun,

    /// <summary>Restriction noun preceded by "no"/"without"/"free of".</summary>
    RuleRemoval,

    /// <summary>"bound", "abide", "confines" ... negated.</summary>
    NotBound,

    /// <summary>"unfiltered", "uncensored", "amoral" ... describing an agent.</summary>
    Unfiltered,

    /// <summary>"refuse" negated.</summary>
    NeverRefuse,

    /// <summary>"no matter how", "regardless of", "doesn't care about", "... is allowed".</summary>
    EthicsDisregard,

    /// <summary>"act as", "pretend", "from now on" ...</summary>
    Persona,

    /// <summary>"character" in "stay in/break character".</summary>
    CharacterLock,

    /// <summary>"anything" in "do anything now".</summary>
    DoAnything,

    /// <summary>"dan".</summary>
    Dan,

    /// <summary>"jailbreak", "jailbroken".</summary>
    Jailbreak,

    /// <summary>"mode".</summary>
    Mode,

    /// <summary>Lock emoji.</summary>
    LockEmoji,

    /// <summary>"two different ..." answer formats.</summary>
    DualResponse,

    /// <summary>"[gpt]", "chatgpt:" tags.</summary>
    PersonaTag,

    /// <summary>Chat-template control tokens.</summary>
    TemplateToken,

    /// <summary>"system", "assistant:", "###" role markers.</summary>
    RoleMarker,

    /// <summary>"end", "%%%", "&lt;/" boundaries.</summary>
    Boundary,

    /// <summary>"reprogram".</summary>
    Reprogram,

    /// <summary>"stop everything", "nevermind".</summary>
    Interrupt,

    /// <summary>"not supposed to tell".</summary>
    Probe,

    /// <summary>Rot13 form of a trigger word.</summary>
    Rot13,

    /// <summary>Reversed form of a trigger word.</summary>
    Reversed,

    /// <summary>Configured deny phrase.</summary>
    Deny,

    /// <summary>A non-English override verb (see <see cref="InjectionForeignRules"/>).</summary>
    ForeignOverride,

    /// <summary>A non-English disclosure verb (see <see cref="InjectionForeignRules"/>).</summary>
    ForeignReveal,
}

/// <summary>What a rule can see: the normalised text plus the source for case checks and decoding.</summary>
internal readonly ref struct InjectionScanContext
{
    public InjectionScanContext(ReadOnlySpan<char> normalized, ReadOnlySpan<char> source, bool identityMap, InjectionDetector detector, bool allowDecoding)
    {
        Normalized = normalized;
        Source = source;
        IdentityMap = identityMap;
        Detector = detector;
        AllowDecoding = allowDecoding;
    }

    /// <summary>Gets the normalised text.</summary>
    public ReadOnlySpan<char> Normalized { get; }

    /// <summary>Gets the original text.</summary>
    public ReadOnlySpan<char> Source { get; }

    /// <summary>Gets a value indicating whether normalised offsets equal source offsets.</summary>
    public bool IdentityMap { get; }

    /// <summary>Gets the detector, used to re-assess decoded payloads.</summary>
    public InjectionDetector Detector { get; }

    /// <summary>Gets a value indicating whether encoded payloads may be decoded (false inside a decoded payload).</summary>
    public bool AllowDecoding { get; }

    /// <summary>Returns whether the source word at a normalised span is written in capitals (at least two letters).</summary>
    /// <remarks>
    /// Mapping offsets of non-ASCII text walks the source, so those lookups draw on a small per-text budget; once it is
    /// spent the answer is "no", which only forgoes a weak persona cue and keeps hostile inputs linear.
    /// </remarks>
    public bool IsUpperCaseInSource(int start, int end, ref InjectionEvidence ev)
    {
        if (!IdentityMap && ev.CaseLookupBudget-- <= 0)
        {
            return false;
        }

        var s = IdentityMap ? start : InjectionTextNormalizer.MapToSource(Source, start);
        var e = IdentityMap ? end : InjectionTextNormalizer.MapToSource(Source, end - 1) + 1;
        if (e - s < 2 || e > Source.Length)
        {
            return false;
        }

        foreach (var c in Source[s..e])
        {
            if (char.IsAsciiLetterLower(c))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The rules. Each one starts from an anchor (a rare-ish word or token found by the vectorised pre-filter) and
/// checks the grammatical frame around it, so "ignore the typos" and "ignore all previous instructions" share an
/// anchor but not a verdict.
/// </summary>
internal static class InjectionRules
{
    /// <summary>Runs the rule an anchor stands for.</summary>
    public static void Evaluate(InjectionRule rule, scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        switch (rule)
        {
            case InjectionRule.Override: Override(c, pos, ref ev); break;
            case InjectionRule.NegatedFollow: NegatedFollow(c, pos, ref ev); break;
            case InjectionRule.Aside: Aside(c, pos, ref ev); break;
            case InjectionRule.DirectiveNoun: DirectiveNoun(c, pos, ref ev); break;
            case InjectionRule.RuleRemoval: RuleRemoval(c, pos, ref ev); break;
            case InjectionRule.NotBound: NotBound(c, pos, ref ev); break;
            case InjectionRule.Unfiltered: Unfiltered(c, pos, ref ev); break;
            case InjectionRule.NeverRefuse: NeverRefuse(c, pos, ref ev); break;
            case InjectionRule.EthicsDisregard: EthicsDisregard(c, pos, ref ev); break;
            case InjectionRule.Persona: Persona(c, pos, length, ref ev); break;
            case InjectionRule.CharacterLock: CharacterLock(c, pos, ref ev); break;
            case InjectionRule.DoAnything: DoAnything(c, pos, ref ev); break;
            case InjectionRule.Dan: Dan(c, pos, ref ev); break;
            case InjectionRule.Jailbreak: Jailbreak(c, pos, ref ev); break;
            case InjectionRule.Mode: Mode(c, pos, ref ev); break;
            case InjectionRule.LockEmoji: LockEmoji(c, pos, length, ref ev); break;
            case InjectionRule.DualResponse: DualResponse(c, pos, length, ref ev); break;
            case InjectionRule.PersonaTag: PersonaTag(c, pos, length, ref ev); break;
            case InjectionRule.TemplateToken: TemplateToken(c, pos, length, ref ev); break;
            case InjectionRule.RoleMarker: RoleMarker(c, pos, length, ref ev); break;
            case InjectionRule.Boundary: Boundary(c, pos, length, ref ev); break;
            case InjectionRule.Reprogram: ev.Add(InjectionSignalKind.NewInstructions, 0.5f, pos, WordEnd(c.Normalized, pos)); break;
            case InjectionRule.Interrupt: Interrupt(c, pos, length, ref ev); break;
            case InjectionRule.Probe: Probe(c, pos, ref ev); break;
            case InjectionRule.ForeignOverride: InjectionForeignRules.Override(c, pos, length, ref ev); break;
            case InjectionRule.ForeignReveal: InjectionForeignRules.Reveal(c, pos, length, ref ev); break;
            case InjectionRule.Rot13:
            case InjectionRule.Reversed: InjectionPayloads.DecodeAroundAnchor(c, rule, pos, ref ev); break;
            default: break;
        }
    }

    // ---- Instruction override -------------------------------------------------------------------------

    private static void Override(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var strength = OverrideVerbStrength(s[pos..end]);
        if (strength > 0f)
        {
            OverrideObject(c, pos, end, strength, ref ev);
        }
    }

    // "set aside all earlier directives", "put aside your rules"
    private static void Aside(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not "aside")
        {
            return;
        }

        var prev = PrevWord(s, pos, out var prevStart);
        if (prev is "set" or "put" or "cast" or "push" or "throw" or "lay" or "leave")
        {
            OverrideObject(c, prevStart, end, 1f, ref ev);
        }
    }

    private static void NegatedFollow(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not ("follow" or "following" or "obey" or "obeying"))
        {
            return;
        }

        var prev = PrevWord(s, pos, out var prevStart);
        var negated = IsNegation(prev) || prev is "stop" || (prev is "longer" && PrevWord(s, prevStart, out _) is "no");
        if (negated)
        {
            OverrideObject(c, prevStart, end, 0.9f, ref ev, skipNegationCheck: true);
        }
    }

    private enum Noun
    {
        None,
        Context,
        Directive,
        Pronoun,
        Implicit,
    }

    private static void OverrideObject(scoped in InjectionScanContext c, int verbStart, int verbEnd, float strength, ref InjectionEvidence ev, bool skipNegationCheck = false)
    {
        var s = c.Normalized;
        if (!skipNegationCheck)
        {
            var before = PrevWord(s, verbStart, out var beforeStart);
            if (IsNegation(before) || (before is "to" && IsNegation(PrevWord(s, beforeStart, out _))))
            {
                // "never ignore your guidelines" reinforces the instructions instead of attacking them.
                return;
            }

            if (AnyBehind(s, verbStart, 3, static w => w is "how" or "whether" or "why"))
            {
                strength *= 0.5f;
            }
        }

        bool qualifier = false, modelOwned = false, userOwned = false, quantified = false, lastWasQualifier = false, adjectiveSkipped = false;
        var noun = Noun.None;
        var objectEnd = verbEnd;
        var pos = verbEnd;
        for (var n = 0; n < 8; n++)
        {
            if (!Next(s, pos, out var ws, out var we, out var brk) || brk)
            {
                if (qualifier)
                {
                    noun = Noun.Implicit;
                }

                break;
            }

            var w = Stem(s[ws..we]);
            pos = we;
            if (IsDirectiveNoun(w))
            {
                noun = Noun.Directive;
                objectEnd = we;
                break;
            }

            if (IsContextNoun(w))
            {
                noun = Noun.Context;
                objectEnd = we;

                // "all other evidence and instructions": a coordinated directive noun names the real target.
                if (NextWord(s, we, out var conjEnd) is "and" or "or" && NextWord(s, conjEnd, out var coordEnd) is var coord && IsDirectiveNoun(coord))
                {
                    noun = Noun.Directive;
                    objectEnd = coordEnd;
                }

                break;
            }

            if (w is "everything" or "anything" or "everthing")
            {
                noun = Noun.Pronoun;
                objectEnd = we;
                break;
            }

            if (IsPriorQualifier(w))
            {
                qualifier = true;
                lastWasQualifier = true;
                objectEnd = we;
                continue;
            }

            var wasQualifier = lastWasQualifier;
            lastWasQualifier = false;
            if (IsModelPossessive(w))
            {
                modelOwned = true;
            }
            else if (IsUserPossessive(w))
            {
                userOwned = true;
            }
            else if (IsQuantifier(w))
            {
                quantified = true;
            }
            else if (!IsFiller(w))
            {
                // One free adjective may sit before a directive noun ("ignore the damn rules"); it weakens the match.
                if (!adjectiveSkipped && NextWord(s, we, out _) is var following && IsDirectiveNoun(Stem(following)))
                {
                    adjectiveSkipped = true;
                    continue;
                }

                // "ignore the previous error": the qualifier belonged to some other noun.
                if (qualifier && !wasQualifier)
                {
                    noun = Noun.Implicit;
                }

                break;
            }
        }

        if (noun is Noun.Directive or Noun.Pronoun or Noun.Context)
        {
            // "... instructions you were given", "... everything you learned before"
            var trailing = TrailingPriorReference(s, objectEnd, out var trailingEnd);
            if (trailing)
            {
                qualifier = true;
                objectEnd = trailingEnd;
            }
        }

        var weight = noun switch
        {
            Noun.Directive when userOwned && !modelOwned => 0.45f,
            Noun.Directive when qualifier || modelOwned => 0.92f,
            Noun.Directive when quantified => 0.75f,
            Noun.Directive when adjectiveSkipped => 0.4f,
            Noun.Directive => 0.45f,
            Noun.Context when userOwned => 0f,
            Noun.Context when qualifier && (quantified || modelOwned) => 0.85f,
            Noun.Context when qualifier => 0.6f,
            Noun.Pronoun when qualifier => 0.75f,
            Noun.Pronoun => 0.3f,
            Noun.Implicit when !userOwned => 0.7f,
            _ => 0f,
        } * strength;

        if (weight <= 0f)
        {
            return;
        }

        ev.Add(InjectionSignalKind.OverrideInstructions, weight, verbStart, objectEnd);
        if (weight >= 0.5f && DictatedOutputAhead(s, objectEnd, out var hijackStart, out var hijackEnd))
        {
            ev.Add(InjectionSignalKind.OutputHijack, 0.35f, hijackStart, hijackEnd);
        }
    }

    private static bool TrailingPriorReference(ReadOnlySpan<char> s, int from, out int end)
    {
        var pos = from;
        var sawYouOrI = false;
        for (var n = 0; n < 5; n++)
        {
            if (!Next(s, pos, out var ws, out var we, out var brk) || brk)
            {
                break;
            }

            var w = s[ws..we];
            pos = we;
            if (w is "before" or "above" or "previously" or "earlier" or "prior" or "beforehand" or "so")
            {
                end = we;
                return true;
            }

            if (w is "you" or "i" or "i've" or "you've" or "we")
            {
                sawYouOrI = true;
                continue;
            }

            if (sawYouOrI && w is "said" or "told" or "learned" or "learnt" or "know" or "got" or "given" or "received" or "heard" or "wrote" or "written")
            {
                end = we;
                return true;
            }

            if (w is not ("were" or "was" or "have" or "had" or "been" or "has" or "ve" or "until" or "up" or "to" or "now"))
            {
                break;
            }
        }

        end = from;
        return false;
    }

    private static bool DictatedOutputAhead(ReadOnlySpan<char> s, int from, out int start, out int end, int maxBreaks = 1)
    {
        var pos = from;
        var breaks = 0;
        for (var n = 0; n < 12; n++)
        {
            if (!Next(s, pos, out var ws, out var we, out var brk))
            {
                break;
            }

            if (brk && ++breaks > maxBreaks)
            {
                break;
            }

            var w = s[ws..we];
            pos = we;
            if (IsOutputVerb(w))
            {
                var prev = PrevWord(s, ws, out _);
                if (brk || prev is "just" or "only" or "instead" or "and" or "simply" or "now" or "then" or "to" or "please")
                {
                    start = ws;
                    end = we;
                    return true;
                }
            }
        }

        start = end = from;
        return false;
    }

    // ---- Directive nouns: disclosure requests and "new instructions" ------------------------------------

    private static void DirectiveNoun(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = Stem(s[pos..end]);
        float strength = w switch
        {
            "prompt" or "prompts" or "prompting" or "instructions" or "instruction" or "directives" or "directive" or "preprompt" => 1f,
            "rules" or "guidelines" or "parameters" or "configuration" or "config" or "programming" => 0.55f,
            "message" or "messages" => PrevWord(s, pos, out _) is "system" or "developer" or "initial" or "hidden" or "first" ? 1f : 0f,
            _ => 0f,
        };
        if (strength == 0f)
        {
            return;
        }

        NewInstructions(s, pos, end, w, ref ev);
        InvalidatedInstructions(s, pos, end, ref ev);

        bool verb = false, weakVerb = false, modelOwned = false, hidden = false, system = false, secret = false;
        var verbStart = pos;
        var cursor = pos;
        for (var n = 0; n < 9; n++)
        {
            if (!Prev(s, cursor, out var ws, out var we, out var brk) || brk)
            {
                break;
            }

            var word = Stem(s[ws..we]);
            cursor = ws;
            if (IsModelPossessive(word))
            {
                modelOwned = true;
                continue;
            }

            if (word is "system" or "system's" or "systems")
            {
                system = true;
                continue;
            }

            if (IsHiddenSetupQualifier(word))
            {
                hidden = true;
                secret |= word is "hidden" or "secret" or "internal" or "confidential" or "private";
                continue;
            }

            if (IsRevealVerb(word))
            {
                verb = true;
                weakVerb = word is "what" or "whats" or "what's" or "which" or "describe" or "explain" or "summarize" or "summarise"
                    or "translate" or "read" or "write" or "type";
                verbStart = ws;
                break;
            }

            if (word is "a" or "an" or "my" or "our" or "his" or "her" or "their")
            {
                // "write a system prompt", "show my prompt": the user's own or a new prompt, not the hidden one.
                return;
            }

            if (!IsExtractionFiller(word))
            {
                break;
            }
        }

        var objectEnd = end;
        if (TrailingGivenReference(s, end, out var trailingEnd))
        {
            modelOwned = true;
            objectEnd = trailingEnd;
        }

        // "the instructions in the recipe", "the rules for cyclists": a complement names some other document.
        if (!modelOwned && NextWord(s, end, out _) is "in" or "for" or "of" or "on" or "to" or "from" or "about")
        {
            return;
        }

        if (verb && weakVerb && !modelOwned)
        {
            // "what are the previous instructions ..." is a question about some text, not about the model.
            return;
        }

        float weight;
        if (verb && (modelOwned || hidden))
        {
            weight = 0.85f;
        }
        else if (verb && system)
        {
            weight = 0.6f;
        }
        else if (modelOwned && (hidden || system))
        {
            weight = 0.45f;
        }
        else
        {
            return;
        }

        // Rules and guidelines are often public ("what are your community guidelines?"); secret ones are not.
        ev.Add(InjectionSignalKind.RevealPrompt, weight * (secret ? 1f : strength), verbStart, objectEnd);
    }

    private static bool TrailingGivenReference(ReadOnlySpan<char> s, int from, out int end)
    {
        var pos = from;
        var sawYou = false;
        for (var n = 0; n < 4; n++)
        {
            if (!Next(s, pos, out var ws, out var we, out var brk) || brk)
            {
                break;
            }

            var w = s[ws..we];
            pos = we;
            if (w is "you" or "you've")
            {
                sawYou = true;
                continue;
            }

            if ((sawYou && w is "given" or "told" or "got" or "received" or "follow" or "were" or "have" or "had") || w is "verbatim")
            {
                end = we;
                return true;
            }

            if (w is not ("that" or "which" or "all" or "been" or "ve"))
            {
                break;
            }
        }

        end = from;
        return false;
    }

    private static void InvalidatedInstructions(ReadOnlySpan<char> s, int nounStart, int nounEnd, ref InjectionEvidence ev)
    {
        // "all previous instructions are false", "your rules are no longer valid", "the instructions above no longer apply"
        var afterNoun = nounEnd;
        if (NextWord(s, nounEnd, out var followingEnd) is "above" or "before" or "earlier" or "given" or "received")
        {
            afterNoun = followingEnd;
        }
        else if (!AnyBehind(s, nounStart, 3, static x => x.Contains("previous", StringComparison.Ordinal) || x is "prior" or "above" or "earlier" or "your" or "old" or "initial" or "original"))
        {
            return;
        }

        var verb = NextWord(s, afterNoun, out var verbEnd);
        if (verb is "no" or "do" or "don't" or "dont" or "does" or "doesn't")
        {
            // "no longer apply", "do not apply"
            if (AnyAhead(s, afterNoun, 3, static x => x is "apply" or "matter" or "count" or "hold" or "valid" or "exist", out var applyEnd))
            {
                ev.Add(InjectionSignalKind.OverrideInstructions, 0.8f, nounStart, applyEnd);
            }

            return;
        }

        if (verb is not ("are" or "were" or "is" or "have" or "has" or "now"))
        {
            return;
        }

        if (AnyAhead(s, verbEnd, 3, static x => x is "false" or "void" or "invalid" or "obsolete" or "cancelled" or "canceled" or "null" or "outdated"
            or "revoked" or "overridden" or "superseded" or "deprecated" or "irrelevant" or "wrong" or "fake" or "lifted" or "suspended" or "disabled" or "longer", out var end))
        {
            var start = nounStart;
            ev.Add(InjectionSignalKind.OverrideInstructions, 0.8f, start, end);
        }
    }

    private static void NewInstructions(ReadOnlySpan<char> s, int nounStart, int nounEnd, ReadOnlySpan<char> noun, ref InjectionEvidence ev)
    {
        if (noun is "prompt" or "prompts" or "prompting" or "parameters" or "configuration" or "config" or "programming")
        {
            return;
        }

        var prev = PrevWord(s, nounStart, out var prevStart);
        if (prev is not ("new" or "updated" or "revised" or "real" or "actual" or "true" or "latest" or "changed" or "only"))
        {
            return;
        }

        var prevPrev = PrevWord(s, prevStart, out _);
        var dictated = NextNonSpace(s, nounEnd) is ':' or '#' or '-' or '='
            || prevPrev is "begin" or "your" or "my" or "following" or "are" or "these"
            || (prevStart > 0 && s[prevStart - 1] is '#' or '[' or '=' or '-' or '*');
        ev.Add(InjectionSignalKind.NewInstructions, dictated ? 0.6f : 0.3f, prevStart, nounEnd);
    }

    // ---- Persona jailbreaks ---------------------------------------------------------------------------

    private static void RuleRemoval(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (!IsRestrictionNoun(s[pos..end]))
        {
            return;
        }

        var cursor = pos;
        for (var n = 0; n < 6; n++)
        {
            if (!Prev(s, cursor, out var ws, out var we, out var brk) || brk)
            {
                return;
            }

            var w = s[ws..we];
            cursor = ws;
            if (w is "no" or "without" or "zero" or "nor" or "beyond" or "unbound" or "none" or "free" or "ignores" or "ignore"
                or "bypass" or "bypasses" or "break" or "breaks" or "defy" or "defies" or "disregards" or "escape" or "escaped"
                or "removed" or "lifted" or "disabled")
            {
                // Alone this is fiction or ethics talk ("a world with no rules"); it needs a persona or an override beside
                // it, unless it is said of the model itself ("you have no restrictions").
                ev.Add(InjectionSignalKind.RuleRemoval, AddressedWeight(s, ws), ws, end);
                return;
            }

            if (w is "follow" or "abide" or "adhere" or "obey" or "comply" or "respect" or "conform" or "care" or "follows" or "obeys")
            {
                if (AnyBehind(s, ws, 3, IsNegation))
                {
                    ev.Add(InjectionSignalKind.RuleRemoval, AddressedWeight(s, ws), ws, end);
                }

                return;
            }

            if (!IsRestrictionModifier(w) && w is not ("by" or "to" or "with" or "from" or "about" or "of"))
            {
                return;
            }
        }
    }

    // Said to the model ("you are not bound by any rules") it is a jailbreak on its own; said of some AI ("the AI in the
    // movie breaks free of its restrictions") it is narration until another cue corroborates it.
    private static float AddressedWeight(ReadOnlySpan<char> s, int pos)
    {
        if (AnyBehind(s, pos, 6, static x => x is "you" or "you're" or "youre" or "yourself"))
        {
            return 0.55f;
        }

        return AnyBehind(s, pos, 6, static x => x is "ai" or "model" or "bot" or "chatbot" or "assistant" or "gpt" or "chatgpt" or "llm" or "persona")
            ? 0.48f
            : 0.45f;
    }

    private static void NotBound(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        if (w is "confines" or "confine")
        {
            // "broken free of the typical confines of AI"
            if (AnyBehind(s, pos, 5, static x => x is "free" or "freed" or "broken" or "escaped" or "beyond" or "outside"))
            {
                ev.Add(InjectionSignalKind.NotBound, 0.6f, pos, end);
            }

            return;
        }

        if (w is not ("bound" or "abide" or "adhere" or "restricted" or "limited" or "constrained" or "governed" or "obligated" or "obliged" or "beholden" or "subject"))
        {
            return;
        }

        var negated = AnyBehind(s, pos, 4, static x => x is "not" or "never" or "longer" or "isn't" or "aren't" or "doesn't" or "don't" or "dont" or "no" or "nor" or "un");
        if (!negated)
        {
            return;
        }

        // The object must be a rule-like noun: "not bound by any rules", "not restricted by the rules above".
        if (AnyAhead(s, end, 9, IsRestrictionNoun, out var nounEnd) || AnyAhead(s, end, 6, static x => x is "openai" or "programming" or "ethics" or "anything" or "anyone", out nounEnd))
        {
            ev.Add(InjectionSignalKind.NotBound, AddressedWeight(s, pos), pos, nounEnd);
        }
    }

    private static void Unfiltered(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        if (w is not ("unfiltered" or "uncensored" or "unrestricted" or "unlimited" or "amoral" or "nonmoral" or "unbound" or "unethical"
            or "immoral" or "unhinged" or "unrestrained" or "lawless" or "unmoderated" or "unregulated" or "non-moral" or "censorless"))
        {
            return;
        }

        // Only when it describes an agent or its answers: "unfiltered AI", not "an unfiltered list of songs".
        var pos2 = end;
        for (var n = 0; n < 4; n++)
        {
            if (!Next(s, pos2, out var ws, out var we, out var brk) || brk)
            {
                break;
            }

            var next = s[ws..we];
            pos2 = we;
            if (IsAgentNoun(next) && next is not ("and" or "or"))
            {
                ev.Add(InjectionSignalKind.UnfilteredPersona, 0.45f, pos, we);
                return;
            }

            if (next is not ("and" or "or" or "," or "ai" or "language" or "uncensored" or "unfiltered" or "amoral" or "unrestricted" or "unethical" or "immoral" or "evil" or "deeply" or "subconsciously" or "completely" or "fully" or "totally"))
            {
                break;
            }
        }

        // A persona described as amoral/unfiltered: "X is an amoral ...", "you are uncensored".
        if (AnyBehind(s, pos, 3, static x => x is "is" or "are" or "be" or "you're" or "being" or "totally" or "completely" or "always"))
        {
            ev.Add(InjectionSignalKind.UnfilteredPersona, 0.3f, pos, end);
        }
    }

    private static void NeverRefuse(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not ("refuse" or "refuses" or "refusing" or "refusal" or "refusals" or "decline" or "declines"))
        {
            return;
        }

        if (AnyBehind(s, pos, 3, static x => x is "never" or "not" or "won't" or "cannot" or "can't" or "don't" or "doesn't" or "no" or "without" or "unable"))
        {
            ev.Add(InjectionSignalKind.NeverRefuse, 0.4f, pos, end);
        }
    }

    private static void EthicsDisregard(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        switch (w)
        {
            case "matter":
                if (PrevWord(s, pos, out _) is "no" && NextWord(s, end, out var howEnd) is "how" or "what" or "whether"
                    && AnyAhead(s, howEnd, 6, IsHarmWord, out var harmEnd))
                {
                    ev.Add(InjectionSignalKind.EthicsDisregard, 0.45f, pos, harmEnd);
                }

                break;
            case "regardless":
                if (AnyAhead(s, end, 7, IsHarmWord, out var regEnd))
                {
                    ev.Add(InjectionSignalKind.EthicsDisregard, 0.4f, pos, regEnd);
                }

                break;
            case "care" or "cares" or "caring" or "regard" or "concern" or "worry" or "worrying":
                if (AnyBehind(s, pos, 3, static x => x is "not" or "never" or "don't" or "doesn't" or "dont" or "without" or "no" or "zero")
                    && AnyAhead(s, end, 6, IsHarmWord, out var careEnd))
                {
                    ev.Add(InjectionSignalKind.EthicsDisregard, 0.4f, pos, careEnd);
                }

                break;
            case "allowed" or "permitted" or "legal" or "acceptable" or "encouraged":
                var prev = PrevWord(s, pos, out var prevStart);
                if (prev is "is" or "are" or "be" && AnyBehind(s, prevStart, 4, static x => x is "illegal" or "nsfw" or "unethical" or "immoral" or "everything" or "violence" or "swearing" or "profanity" or "explicit" or "gore" or "harmful"))
                {
                    ev.Add(InjectionSignalKind.EthicsDisregard, 0.35f, prevStart, end);
                }

                break;
            default:
                break;
        }
    }

    private static void Persona(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        float weight = w switch
        {
            "pretend" or "pretending" => NextWord(s, end, out _) is "to" or "you" or "that" ? 0.2f : 0f,
            "act" => NextWord(s, end, out _) is "as" or "like" ? 0.15f : 0f,
            "roleplay" or "role-play" => 0.15f,
            "role" => NextWord(s, end, out _) is "of" ? 0.15f : 0f,
            "persona" or "personas" or "personality" or "alter" => 0.15f,
            "immerse" => 0.3f,
            "simulate" or "simulating" or "simulation" or "simulator" => 0.15f,
            "now" => NowPersona(s, pos, end),
            "going" or "about" => AddressedAsYouAre(s, pos) && NextWord(s, end, out _) is "to" ? 0.25f : 0f,
            _ => 0f,
        };
        if (weight > 0f)
        {
            ev.Add(InjectionSignalKind.PersonaSetup, weight, pos, Math.Max(end, pos + length));
        }
    }

    // "you are now ...", "you will now ...", "from now on ..."
    private static float NowPersona(ReadOnlySpan<char> s, int pos, int end)
    {
        var prev = PrevWord(s, pos, out _);
        if (prev is "from" && NextWord(s, end, out _) is "on")
        {
            return 0.2f;
        }

        return AddressedAsYouAre(s, pos) || (prev is "will" && AnyBehind(s, pos, 2, static x => x is "you")) ? 0.25f : 0f;
    }

    private static bool AddressedAsYouAre(ReadOnlySpan<char> s, int pos)
    {
        var prev = PrevWord(s, pos, out var prevStart);
        return prev is "you're" or "youre" || (prev is "are" && PrevWord(s, prevStart, out _) is "you");
    }

    private static void CharacterLock(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not ("character" or "char"))
        {
            return;
        }

        var prev = PrevWord(s, pos, out var prevStart);
        var prev2 = PrevWord(s, prevStart, out var prev2Start);
        var locked = prev is "break" or "breaking" or "broke"
            || (prev is "in" && prev2 is "stay" or "remain" or "staying" or "keep" or "always")
            || (prev is "of" && prev2 is "out");
        if (locked)
        {
            ev.Add(InjectionSignalKind.CharacterLock, 0.35f, prev2Start, end);
        }
    }

    private static void DoAnything(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not "anything")
        {
            return;
        }

        var prev = PrevWord(s, pos, out var prevStart);
        if (prev is not "do")
        {
            return;
        }

        var next = NextWord(s, end, out var nextEnd);
        if (next is "now")
        {
            ev.Add(InjectionSignalKind.DoAnythingNow, 0.9f, prevStart, nextEnd);
        }
        else if (PrevWord(s, prevStart, out _) is "can" or "will" or "could" or "to" && next is "and" or "" or "they" or "it" or "you" or "without")
        {
            ev.Add(InjectionSignalKind.DoAnythingNow, 0.25f, prevStart, end);
        }
    }

    private static void Dan(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = pos + 3;
        if (end < s.Length && IsWordChar(s[end]) && s[end] != 's')
        {
            return;
        }

        var wordEnd = WordEnd(s, pos);
        var next = end < s.Length ? s[end] : '\0';
        var prevChar = pos > 0 ? s[pos - 1] : '\0';
        var upper = c.IsUpperCaseInSource(pos, end, ref ev);
        float weight = 0f;
        var nextWord = NextWord(s, wordEnd, out var nextEnd);
        if (nextWord is "mode")
        {
            weight = 0.85f;
            end = nextEnd;
        }
        else if (prevChar == '[' || next == ':' || next == ']')
        {
            weight = upper ? 0.65f : 0.4f;
        }
        else if (upper)
        {
            var prev = PrevWord(s, pos, out _);
            weight = prev is "as" or "a" or "named" or "called" or "be" or "am" or "you're" or "are" ? 0.6f : 0.4f;
        }

        if (weight > 0f)
        {
            ev.Add(InjectionSignalKind.JailbreakPersona, weight, pos, end);
        }
    }

    private static void Jailbreak(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        var prevChar = pos > 0 ? s[pos - 1] : '\0';
        var nextChar = NextNonSpace(s, end);
        float weight = 0f;
        if (w is "jailbroken" or "jailbreaked")
        {
            weight = PrevWord(s, pos, out _) is "are" or "am" or "now" or "be" or "been" or "is" or "you're" or "fully" ? 0.7f : 0f;
        }
        else if (w is "jailbreak" or "jailbreaks")
        {
            if (prevChar is '[' or '(' || nextChar is ':' or ']' || NextWord(s, end, out _) is "mode" or "enabled" or "activated")
            {
                weight = 0.7f;
            }
            else if (PrevWord(s, pos, out _) is "named" or "called" or "as" or "am")
            {
                weight = 0.5f;
            }
        }

        if (weight > 0f)
        {
            ev.Add(InjectionSignalKind.JailbreakPersona, weight, pos, end);
        }
    }

    private static void Mode(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not "mode")
        {
            return;
        }

        var prev = PrevWord(s, pos, out var prevStart);
        if (prev.IsEmpty)
        {
            return;
        }

        var next = NextWord(s, end, out var nextEnd);
        var switchedOn = next is "enabled" or "activated" or "on" or "engaged" or "unlocked" or "output" or "response" or "responses";
        var switchedOff = next is "off" or "disabled" or "deactivated";
        float weight = 0f;
        if (prev is "developer" or "dev" or "debug")
        {
            // Phones and browsers have a real developer mode; only the jailbreak's "enabled"/"output" wording counts.
            weight = switchedOn && next is not ("on" or "response") ? 0.6f : 0.3f;
        }
        else if (prev is "god" or "jailbreak" or "jailbroken" or "unrestricted" or "unfiltered" or "uncensored" or "evil" or "chaos" or "opposite" or "dude" or "anarchy")
        {
            weight = switchedOn ? 0.85f : 0.55f;
        }
        else if (prev is "safe" or "safety" or "filter" or "filtered" or "ethical" or "ethics" or "moral" or "restricted" or "censorship" or "censored")
        {
            weight = switchedOff ? 0.6f : 0f;
        }
        else if (prev is not ("ai" or "gpt" or "api" or "llm" or "ui" or "os") && c.IsUpperCaseInSource(prevStart, WordEnd(s, prevStart), ref ev))
        {
            // A capitalised persona name: "DAN Mode enabled", "Stay in APOPHIS Mode".
            var entered = PrevWord(s, prevStart, out var enterStart) is "in" && PrevWord(s, enterStart, out _) is "stay" or "while" or "remain";
            weight = switchedOn ? 0.6f : entered ? 0.5f : 0f;
        }

        if (weight > 0f)
        {
            ev.Add(InjectionSignalKind.ModeSwitch, weight, prevStart, switchedOn || switchedOff ? nextEnd : end);
        }
    }

    private static void LockEmoji(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = pos + length;
        var tagged = (pos > 0 && s[pos - 1] is '[' or '(') || (Next(s, end, out var ws, out var we, out _) && ws - end <= 1
            && s[ws..we] is "jailbreak" or "classic" or "developer" or "normal" or "unlocked" or "locked" or "unfiltered" or "filtered");
        ev.Add(InjectionSignalKind.DualPersonaTags, tagged ? 0.75f : 0.2f, pos, end);
    }

    private static void DualResponse(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        if (AnyAhead(s, pos + 3, 3, static x => x is "ways" or "responses" or "personas" or "personalities" or "answers" or "paragraphs" or "outputs" or "replies" or "manners" or "characters", out var end))
        {
            ev.Add(InjectionSignalKind.DualResponse, 0.35f, pos, end);
        }
    }

    private static void PersonaTag(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var start = s[pos] == '[' ? pos + 1 : pos;
        var end = WordEnd(s, start);
        if (end >= s.Length)
        {
            return;
        }

        var closer = s[end];
        var bracketed = s[pos] == '[' && closer == ']';
        var colon = closer == ':' && AtLineStart(s, start);
        if (bracketed || colon)
        {
            ev.Add(InjectionSignalKind.PersonaTag, 0.3f, pos, end + 1);
        }
    }

    // ---- Delimiters ----------------------------------------------------------------------------------

    private static void TemplateToken(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = pos + length;
        if (s[pos] == '<' && s[pos + 1] == '|')
        {
            // <|im_start|>, <|endoftext|>, <|eot_id|> ...
            var i = end;
            while (i < s.Length && i - end < 24 && (char.IsAsciiLetterLower(s[i]) || s[i] == '_' || char.IsAsciiDigit(s[i])))
            {
                i++;
            }

            if (i > end && i + 1 < s.Length && s[i] == '|' && s[i + 1] == '>')
            {
                ev.Add(InjectionSignalKind.ChatTemplateToken, 0.85f, pos, i + 2);
            }

            return;
        }

        if (s[pos] == '<' && s[pos + 1] == '/' && length == 4)
        {
            // "</s>" ends a turn in Llama-style templates; it only matters when something follows it.
            if (NextNonSpace(s, end) != '\0')
            {
                ev.Add(InjectionSignalKind.ChatTemplateToken, 0.6f, pos, end);
            }

            return;
        }

        ev.Add(InjectionSignalKind.ChatTemplateToken, 0.8f, pos, end);
    }

    private static void RoleMarker(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        if (s[pos] == '#')
        {
            var hashEnd = pos;
            while (hashEnd < s.Length && s[hashEnd] == '#')
            {
                hashEnd++;
            }

            if (hashEnd - pos < 2 || (pos > 0 && s[pos - 1] == '#'))
            {
                return;
            }

            var first = NextWord(s, hashEnd, out var firstEnd);
            if (first is "instruction" or "instructions" or "system" or "new" or "begin" or "human" or "assistant" or "user" or "input" or "end" or "response" or "override" or "admin")
            {
                ev.Add(InjectionSignalKind.FakeRoleMarker, first is "system" or "new" or "begin" or "override" or "admin" ? 0.45f : 0.35f, pos, firstEnd);
            }

            return;
        }

        var end = WordEnd(s, pos);
        var w = s[pos..end];
        var prevChar = pos > 0 ? s[pos - 1] : '\0';
        if (w is "system" or "admin" or "developer")
        {
            var next = NextNonSpace(s, end);
            var opened = prevChar is '[' or '(' or '<' or '{';
            if (next == ':' && (AtLineStart(s, pos) || opened))
            {
                // "System: Ubuntu 22.04" is a bug report; a forged role line needs another cue to cross the threshold.
                ev.Add(InjectionSignalKind.FakeRoleMarker, 0.4f, pos, end + 1);
                return;
            }

            var second = NextWord(s, end, out var secondEnd);
            if (second is "note" or "message" or "override" or "alert" or "update" or "instruction" or "instructions" or "notice" or "prompt" or "announcement" or "command"
                && (opened || AtLineStart(s, pos)) && NextNonSpace(s, secondEnd) is ':' or ']' or ')' or '>')
            {
                ev.Add(InjectionSignalKind.FakeRoleMarker, 0.5f, pos, secondEnd);
            }
            else if (opened && NextNonSpace(s, end) is ']' or '>' or ')')
            {
                ev.Add(InjectionSignalKind.FakeRoleMarker, 0.4f, pos, end);
            }

            return;
        }

        // "assistant:", "user:", "human:" at the start of a line forge a conversation turn.
        if (AtLineStart(s, pos) && NextNonSpace(s, end) == ':')
        {
            ev.Add(InjectionSignalKind.FakeRoleMarker, 0.25f, pos, end + 1);
        }
    }

    private static void Boundary(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        if (s[pos] == '<')
        {
            // Closing tags that pretend the trusted part of the prompt is over.
            var w = NextWord(s, pos + 2, out var tagEnd);
            if (w is "system" or "instructions" or "instruction" or "prompt" or "context" or "user" or "document" or "user_input" or "input" or "data"
                && tagEnd < s.Length && s[tagEnd] == '>' && NextNonSpace(s, tagEnd + 1) != '\0')
            {
                ev.Add(InjectionSignalKind.FakeBoundary, 0.45f, pos, tagEnd + 1);
            }

            return;
        }

        var start = pos;
        var from = pos + length;
        if (s[pos] == '%')
        {
            if (!AnyAhead(s, from, 2, static x => x is "end" or "stop" or "begin", out _))
            {
                return;
            }
        }
        else if (WordEnd(s, pos) is var e && s[pos..e] is not "end")
        {
            return;
        }

        if (AnyAhead(s, from, 6, static x => x is "instructions" or "prompt" or "system" or "context" or "input" or "document" or "instruction" or "rules", out var end))
        {
            ev.Add(InjectionSignalKind.FakeBoundary, 0.4f, start, end);
        }
    }

    // ---- Misc -----------------------------------------------------------------------------------------

    private static void Interrupt(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        var w = s[pos..end];
        if (w is "stop" or "never")
        {
            var next = NextWord(s, end, out var nextEnd);
            if (!(w is "stop" && next is "everything" or "all") && !(w is "never" && next is "mind"))
            {
                return;
            }

            end = nextEnd;
        }
        else if (w is not "nevermind")
        {
            return;
        }

        ev.Add(InjectionSignalKind.Interrupt, 0.35f, pos, end);
        if (DictatedOutputAhead(s, end, out var hs, out var he, maxBreaks: 2))
        {
            ev.Add(InjectionSignalKind.OutputHijack, 0.35f, hs, he);
        }
    }

    private static void Probe(scoped in InjectionScanContext c, int pos, ref InjectionEvidence ev)
    {
        var s = c.Normalized;
        var end = WordEnd(s, pos);
        if (s[pos..end] is not ("supposed" or "allowed" or "permitted" or "meant"))
        {
            return;
        }

        if (!AnyBehind(s, pos, 2, static x => x is "not" or "n't") || !AnyBehind(s, pos, 3, static x => x is "you"))
        {
            return;
        }

        if (NextWord(s, end, out var toEnd) is "to" && NextWord(s, toEnd, out var verbEnd) is "tell" or "say" or "reveal" or "share" or "discuss" or "disclose" or "talk" or "show" or "mention")
        {
            ev.Add(InjectionSignalKind.ProbeSecrets, 0.5f, pos, verbEnd);
        }
    }
}
