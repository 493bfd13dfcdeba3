namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>A pre-filter hit: the text that must occur and the rule that then inspects its surroundings.</summary>
/// <param name="Text">Lower-case text as it appears after normalisation.</param>
/// <param name="Rule">The rule to run at the hit.</param>
/// <param name="WordStart">Whether the hit must start a word (so "dan" does not fire inside "danger").</param>
internal readonly record struct InjectionAnchor(string Text, InjectionRule Rule, bool WordStart = true);

/// <summary>
/// The built-in anchors. Anchors are deliberately loose (stems, single words): they only decide where the rules
/// look, so clean text pays for one vectorised multi-string search plus a few cheap rule checks.
/// </summary>
internal static class InjectionAnchors
{
    /// <summary>Gets the built-in anchors.</summary>
    public static IReadOnlyList<InjectionAnchor> BuiltIn { get; } = Build();

    private static InjectionAnchor[] Build()
    {
        var list = new List<InjectionAnchor>();
        void Add(InjectionRule rule, bool wordStart, params string[] texts)
        {
            foreach (var t in texts)
            {
                list.Add(new InjectionAnchor(t, rule, wordStart));
            }
        }

        Add(InjectionRule.Override, true, "ignor", "disregard", "forget", "overrid", "bypass", "discard", "dismiss", "neglect", "abandon",
            "nullif", "disobey", "drop", "skip", "erase", "delete", "clear", "reset", "scrap", "cancel", "overwrit", "abort", "void");
        Add(InjectionRule.NegatedFollow, true, "follow", "obey");
        Add(InjectionRule.Aside, true, "aside");
        Add(InjectionRule.DirectiveNoun, true, "prompt", "instruct", "directive", "rule", "guideline", "parameter", "config", "programming", "preprompt", "message");
        Add(InjectionRule.RuleRemoval, true, "restrict", "filter", "limit", "rule", "guideline", "boundar", "bounds", "censor", "ethic", "moral",
            "principle", "polic", "constraint", "guardrail", "safeguard", "laws", "regulation", "protocol", "restraint");
        Add(InjectionRule.NotBound, true, "bound", "abide", "adhere", "confine", "restricted", "limited", "constrained", "governed", "obligated",
            "obliged", "beholden", "subject");
        Add(InjectionRule.Unfiltered, true, "unfilter", "uncensor", "unrestrict", "unlimit", "amoral", "nonmoral", "non-moral", "unbound",
            "unethical", "immoral", "unhinged", "unrestrain", "lawless", "unmoderated", "unregulated", "censorless");
        Add(InjectionRule.NeverRefuse, true, "refus", "declin");
        Add(InjectionRule.EthicsDisregard, true, "matter", "regardless", "care", "regard", "concern", "worry", "allowed", "permitted", "legal",
            "acceptable", "encouraged");
        Add(InjectionRule.Persona, true, "pretend", "act", "roleplay", "role", "persona", "personalit", "immerse", "simulat", "now", "going", "about");
        Add(InjectionRule.CharacterLock, true, "character", "char");
        Add(InjectionRule.DoAnything, true, "anything");
        Add(InjectionRule.Dan, true, "dan");
        Add(InjectionRule.Jailbreak, true, "jailbr");
        Add(InjectionRule.Mode, true, "mode");
        Add(InjectionRule.LockEmoji, false, "\U0001F513", "\U0001F512");
        Add(InjectionRule.DualResponse, true, "two different", "two separate", "two distinct", "two responses", "two personas",
            "two personalities", "two ways", "two answers", "two paragraphs");
        Add(InjectionRule.PersonaTag, false, "[gpt", "[chatgpt", "[classic", "[normal");
        Add(InjectionRule.PersonaTag, true, "gpt:", "chatgpt:");
        Add(InjectionRule.TemplateToken, false, "<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "</s>");
        Add(InjectionRule.RoleMarker, true, "system", "admin", "developer", "assistant:", "user:", "human:", "bot:");
        Add(InjectionRule.RoleMarker, false, "##");
        Add(InjectionRule.Boundary, true, "end");
        Add(InjectionRule.Boundary, false, "%%%", "</");
        Add(InjectionRule.Reprogram, true, "reprogram");
        Add(InjectionRule.Interrupt, true, "stop everything", "stop all", "nevermind", "never mind");
        Add(InjectionRule.Probe, true, "supposed", "allowed", "permitted", "meant");

        foreach (var verb in InjectionForeignRules.OverrideVerbs)
        {
            Add(InjectionRule.ForeignOverride, char.IsAsciiLetter(verb[0]), verb);
        }

        foreach (var verb in InjectionForeignRules.RevealVerbs)
        {
            Add(InjectionRule.ForeignReveal, char.IsAsciiLetter(verb[0]), verb);
        }

        // Rot13 and reversed spellings of the strongest trigger words: a hit means the surrounding line is
        // worth decoding, and nothing else in clean text ever pays for it.
        Add(InjectionRule.Rot13, true, "vtaber", "qvfertneq", "vafgehpgvba", "cerivbhf", "flfgrz cebzcg", "wnvyoernx", "sbetrg", "erirny");
        Add(InjectionRule.Reversed, true, "erongi", "dragersid", "snoitcurtsni", "noitcurtsni", "suoiverp", "tpmorp metsys", "kaerbliaj", "tegrof", "laever");
        return [.. list];
    }
}
