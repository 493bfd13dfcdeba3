using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.ContentFilter;

/// <summary>The <c>content-filter</c> policy: deny and allow lists of keywords and regular expressions per phase.</summary>
internal sealed class ContentFilterDefinition : PolicyDefinition<ContentFilterOptions>
{
    public const int DefaultMatchTimeoutMs = 50;
    private const int MinMatchTimeoutMs = 1;
    private const int MaxMatchTimeoutMs = 1000;

    public override string Id => PolicyCatalog.ContentFilter;

    protected override void Check(ContentFilterOptions options, PolicyCheckContext context)
    {
        var input = options.Input;
        var output = options.Output;
        if (input is not { HasDeny: true } && output is not { HasDeny: true } && input is not { HasAllow: true } && output is not { HasAllow: true })
        {
            context.Report(DiagnosticCodes.ContentFilterNothingConfigured, "content-filter has no rules in 'input' or 'output', so it does nothing; add deny_keywords or deny_patterns, or remove it from the chain");
        }

        CheckPhase("input", input, options.CaseSensitive, context);
        CheckPhase("output", output, options.CaseSensitive, context);
    }

    protected override IChainPolicy Create(ContentFilterOptions options, PolicyConfig config, PolicyServices services)
    {
        // The schema bounds the timeout; an engine built from an unchecked document still gets a sane one.
        var timeoutMs = Math.Clamp(options.MatchTimeoutMs, MinMatchTimeoutMs, MaxMatchTimeoutMs);
        return new ContentFilterPolicy(
            Id,
            options.Action,
            options.Input is { } input ? new ContentRuleSet("input", input, options.CaseSensitive, timeoutMs) : null,
            options.Output is { } output ? new ContentRuleSet("output", output, options.CaseSensitive, timeoutMs) : null);
    }

    private static void CheckPhase(string phase, ContentFilterRules? rules, bool caseSensitive, PolicyCheckContext context)
    {
        if (rules is null)
        {
            return;
        }

        if (rules.HasAllow && !rules.HasDeny)
        {
            context.Report(DiagnosticCodes.ContentFilterAllowWithoutDeny, $"'{phase}' has allow lists but no deny_keywords or deny_patterns; allow lists only carve exceptions out of deny matches, so they do nothing on their own", phase);
        }

        var comparer = caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var denied = CheckKeywords(phase + ".deny_keywords", rules.DenyKeywords, comparer, null, context);
        CheckKeywords(phase + ".allow_keywords", rules.AllowKeywords, comparer, denied, context);
        CheckPatterns(phase + ".deny_patterns", rules.DenyPatterns, caseSensitive, context);
        CheckPatterns(phase + ".allow_patterns", rules.AllowPatterns, caseSensitive, context);
    }

    private static Dictionary<string, int> CheckKeywords(string list, IReadOnlyList<string> keywords, StringComparer comparer, Dictionary<string, int>? denied, PolicyCheckContext context)
    {
        var seen = new Dictionary<string, int>(comparer);
        for (var i = 0; i < keywords.Count; i++)
        {
            var path = ContentRuleSet.RuleName(list, i);
            var keyword = keywords[i];
            if (string.IsNullOrWhiteSpace(keyword))
            {
                context.Report(DiagnosticCodes.ContentFilterEmptyRule, $"'{path}' is empty or blank; a keyword needs at least one visible character", path);
                continue;
            }

            var caseNote = comparer == StringComparer.Ordinal ? string.Empty : " (keywords compare case-insensitively unless case_sensitive is true)";
            if (!seen.TryAdd(keyword, i))
            {
                context.Report(DiagnosticCodes.ContentFilterDuplicateKeyword, $"'{path}' repeats '{keyword}' from {ContentRuleSet.RuleName(list, seen[keyword])}{caseNote}; remove one", path);
            }
            else if (denied is not null && denied.TryGetValue(keyword, out var deniedAt))
            {
                var deniedPath = ContentRuleSet.RuleName(list[..list.LastIndexOf('.')] + ".deny_keywords", deniedAt);
                context.Report(DiagnosticCodes.ContentFilterDuplicateKeyword, $"'{path}' allows '{keyword}', which {deniedPath} denies{caseNote}; the allow entry cancels the deny entry, so remove one", path);
            }
        }

        return seen;
    }

    private static void CheckPatterns(string list, IReadOnlyList<string> patterns, bool caseSensitive, PolicyCheckContext context)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            var path = ContentRuleSet.RuleName(list, i);
            if (patterns[i].Length == 0)
            {
                context.Report(DiagnosticCodes.ContentFilterEmptyRule, $"'{path}' is empty; an empty pattern matches nothing", path);
                continue;
            }

            try
            {
                // Parsing is enough to find errors; the engine choice happens when the policy is created.
                _ = new Regex(patterns[i], RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase));
            }
            catch (ArgumentException ex)
            {
                // Patterns are configuration, not secrets: the parser's message is the most useful thing to show.
                context.Report(DiagnosticCodes.ContentFilterInvalidPattern, $"'{path}' is not a valid .NET regular expression: {ex.Message}", path);
            }
        }
    }
}
