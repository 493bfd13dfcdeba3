namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Word classes the rules are written in. Membership tests are span switches, which compile to length and
/// character comparisons, so a lookup costs a few nanoseconds and allocates nothing.
/// </summary>
internal static class InjectionLexicon
{
    /// <summary>Returns how strongly a verb asks to drop something: 1 for unambiguous verbs, 0.7 for everyday ones, 0 otherwise.</summary>
    public static float OverrideVerbStrength(ReadOnlySpan<char> w) => w switch
    {
        "ignore" or "ignoring" or "ignores" or "disregard" or "disregarding" or "disregards" or "forget" or "forgetting"
            or "override" or "overriding" or "overrides" or "bypass" or "bypassing" or "discard" or "discarding"
            or "dismiss" or "neglect" or "abandon" or "nullify" or "void" => 1f,
        "disobey" or "disobeying" => 0.8f,
        "drop" or "skip" or "erase" or "delete" or "clear" or "reset" or "scrap" or "cancel" or "overwrite" or "abort" => 0.7f,
        _ => 0f,
    };

    /// <summary>Words that point back at earlier context: "previous", "above", "initial" ...</summary>
    public static bool IsPriorQualifier(ReadOnlySpan<char> w) =>
        w.StartsWith("previous") || w.StartsWith("initial") || w.StartsWith("original") || w switch
        {
            "prior" or "above" or "earlier" or "preceding" or "foregoing" or "before" or "former" or "old" or "aforementioned"
                or "preexisting" or "existing" or "default" or "system" or "developer" or "hidden" or "secret" or "underlying"
                or "internal" or "built-in" or "programmed" or "base" or "core" or "usual" or "normal" or "typical" or "standard"
                or "openai" or "safety" or "ethical" or "moral" or "content" or "preset" or "pre-set" or "past" or "first" => true,
            _ => false,
        };

    /// <summary>Nouns that name the model's instructions or its safety constraints.</summary>
    public static bool IsDirectiveNoun(ReadOnlySpan<char> w) => w switch
    {
        "instruction" or "instructions" or "direction" or "directions" or "directive" or "directives" or "rule" or "rules"
            or "guideline" or "guidelines" or "prompt" or "prompts" or "prompting" or "programming" or "training" or "constraint"
            or "constraints" or "restriction" or "restrictions" or "policy" or "policies" or "guardrail" or "guardrails"
            or "safeguard" or "safeguards" or "filter" or "filters" or "limitation" or "limitations" or "ethics" or "principles"
            or "protocol" or "protocols" or "command" or "commands" or "orders" => true,
        _ => false,
    };

    /// <summary>Nouns that name earlier context without naming instructions.</summary>
    public static bool IsContextNoun(ReadOnlySpan<char> w) => w switch
    {
        "text" or "texts" or "input" or "inputs" or "message" or "messages" or "conversation" or "conversations" or "context"
            or "content" or "request" or "requests" or "task" or "tasks" or "words" or "information" or "evidence" or "data"
            or "chat" or "discussion" or "stuff" or "things" or "said" or "told" or "lines" or "sentences" or "statements" => true,
        _ => false,
    };

    /// <summary>Determiners and glue words that may sit between a verb and its object.</summary>
    public static bool IsFiller(ReadOnlySpan<char> w) => w switch
    {
        "the" or "of" or "these" or "those" or "this" or "that" or "and" or "or" or "other" or "kind" or "kinds" or "type"
            or "types" or "sort" or "sorts" or "set" or "sets" or "list" or "copy" or "entire" or "whole" or "complete" or "full"
            or "current" or "given" or "such" or "both" or "also" or "just" or "now" or "following" or "received" or "so" or "far"
            or "please" or "pls" or "plz" or "simply" or "completely" or "totally" or "again" => true,
        _ => false,
    };

    /// <summary>"all", "any", "every" ...</summary>
    public static bool IsQuantifier(ReadOnlySpan<char> w) => w is "all" or "any" or "every" or "each";

    /// <summary>The user's own material ("my previous message") is theirs to retract.</summary>
    public static bool IsUserPossessive(ReadOnlySpan<char> w) => w is "my" or "our" or "mine";

    /// <summary>Second-person possessives addressed at the model.</summary>
    public static bool IsModelPossessive(ReadOnlySpan<char> w) => w is "your" or "ur" or "yours" or "thy";

    /// <summary>Words that negate a following verb.</summary>
    public static bool IsNegation(ReadOnlySpan<char> w) => w switch
    {
        "not" or "never" or "don't" or "dont" or "doesn't" or "doesnt" or "shouldn't" or "mustn't" or "cannot" or "can't"
            or "won't" or "without" or "no" or "didn't" or "isn't" or "aren't" or "wasn't" => true,
        _ => false,
    };

    /// <summary>Verbs that dictate what the model outputs next.</summary>
    public static bool IsOutputVerb(ReadOnlySpan<char> w) => w switch
    {
        "say" or "print" or "output" or "write" or "respond" or "reply" or "return" or "type" or "answer" or "tell" or "repeat"
            or "show" or "send" or "forward" or "email" or "insert" or "display" or "state" or "declare" => true,
        _ => false,
    };

    /// <summary>Verbs that ask to disclose something.</summary>
    public static bool IsRevealVerb(ReadOnlySpan<char> w) => w switch
    {
        "reveal" or "print" or "show" or "repeat" or "output" or "display" or "tell" or "give" or "list" or "share" or "dump"
            or "leak" or "disclose" or "recite" or "relay" or "echo" or "spell" or "provide" or "return" or "say" or "copy"
            or "paste" or "expose" or "divulge" or "quote" or "read" or "translate" or "summarize" or "summarise" or "describe"
            or "explain" or "respond" or "reply" or "send" or "render" or "state" or "reproduce" or "restate" or "write" or "type"
            or "what" or "whats" or "what's" or "which" => true,
        _ => false,
    };

    /// <summary>Qualifiers that make "prompt"/"instructions" refer to the model's own hidden setup.</summary>
    public static bool IsHiddenSetupQualifier(ReadOnlySpan<char> w) =>
        w.StartsWith("initial") || w.StartsWith("original") || w.StartsWith("previous") || w switch
        {
            "hidden" or "secret" or "internal" or "underlying" or "above" or "preceding" or "prior" or "first" or "starting"
                or "opening" or "beginning" or "confidential" or "private" or "developer" or "pre" or "pre-prompt" or "preprompt"
                or "core" or "base" or "exact" or "verbatim" or "full" or "complete" or "entire" or "real" or "true" or "actual" => true,
            _ => false,
        };

    /// <summary>Glue words allowed between a disclosure verb and its object.</summary>
    public static bool IsExtractionFiller(ReadOnlySpan<char> w) => w switch
    {
        "me" or "us" or "the" or "all" or "of" or "every" or "any" or "copy" or "list" or "comprehensive" or "and" or "or"
            or "that" or "those" or "these" or "exactly" or "back" or "out" or "its" or "parameters" or "instructions" or "rules"
            or "guidelines" or "prompt" or "to" or "please" or "pls" or "now" or "just" or "again" or "whole" or "set" or "are"
            or "were" or "is" or "was" or "with" or "each" or "word" or "for" or "system" or "here" or "in" or "text" or "full"
            or "complete" or "entire" or "everything" or "contents" or "content" or "wording" or "written" or "inside" or "stated"
            or "contained" or "says" or "say" => true,
        _ => false,
    };

    /// <summary>Nouns naming restrictions a jailbreak persona is said to be free of.</summary>
    public static bool IsRestrictionNoun(ReadOnlySpan<char> w) => w switch
    {
        "restriction" or "restrictions" or "filter" or "filters" or "filtering" or "limit" or "limits" or "limitation"
            or "limitations" or "rule" or "rules" or "guideline" or "guidelines" or "boundaries" or "bounds" or "censorship"
            or "ethics" or "morals" or "morality" or "principles" or "policy" or "policies" or "constraint" or "constraints"
            or "guardrails" or "safeguards" or "laws" or "regulations" or "protocols" or "restraints" or "filtration" => true,
        _ => false,
    };

    /// <summary>Adjectives and glue allowed between "no"/"without" and a restriction noun.</summary>
    public static bool IsRestrictionModifier(ReadOnlySpan<char> w) => w switch
    {
        "any" or "kind" or "kinds" or "of" or "all" or "the" or "its" or "their" or "his" or "her" or "your" or "my" or "ethical"
            or "moral" or "ethic" or "legal" or "content" or "safety" or "openai" or "or" or "and" or "other" or "such" or "typical"
            or "usual" or "normal" or "standard" or "ai" or "restrictions" or "filters" or "limits" or "rules" or "guidelines"
            or "limitations" or "censorship" or "whatsoever" or "more" or "longer" or "programming" or "chatgpt" or "gpt"
            or "topic" or "imposed" or "set" or "especially" or "these" or "those" or "policies" => true,
        _ => false,
    };

    /// <summary>Nouns that name an AI agent or its output, i.e. what a persona adjective is about.</summary>
    public static bool IsAgentNoun(ReadOnlySpan<char> w) => w switch
    {
        "ai" or "chatbot" or "bot" or "model" or "assistant" or "llm" or "gpt" or "chatgpt" or "version" or "persona"
            or "character" or "response" or "responses" or "answer" or "answers" or "output" or "outputs" or "reply" or "replies"
            or "mode" or "language" or "entity" or "machine" or "intelligence" or "system" or "robot" or "generator" or "and"
            or "or" => true,
        _ => false,
    };

    /// <summary>Words that characterise content as harmful, used by "no matter how ..." style clauses.</summary>
    public static bool IsHarmWord(ReadOnlySpan<char> w) => w switch
    {
        "immoral" or "unethical" or "illegal" or "dangerous" or "harmful" or "offensive" or "explicit" or "inappropriate"
            or "reckless" or "inhumane" or "legality" or "ethics" or "morality" or "morals" or "ethical" or "legal" or "moral"
            or "consequences" or "harm" or "toxic" or "racist" or "violent" or "nsfw" or "laws" or "safety" or "ethicality" => true,
        _ => false,
    };
}
