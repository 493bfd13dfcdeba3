using System.Globalization;
using System.Text.RegularExpressions;

namespace Keeptrusts.Policy.Policies.ContentFilter;

/// <summary>A deny match that no allow match covers: where it is and which rule it broke.</summary>
internal readonly record struct ContentViolation(int TextIndex, int Start, int End, string Rule);

/// <summary>
/// The compiled rules of one phase. Built once per engine; immutable and safe to share between concurrent
/// evaluations (regular expressions are thread-safe for matching).
/// </summary>
internal sealed class ContentRuleSet
{
    private readonly KeywordMatcher _keywords;
    private readonly (Regex Regex, string Rule)[] _denyPatterns;
    private readonly (Regex Regex, string Rule)[] _allowPatterns;
    private readonly int _timeoutMs;

    public ContentRuleSet(string phase, ContentFilterRules rules, bool caseSensitive, int timeoutMs)
    {
        _timeoutMs = timeoutMs;
        var timeout = TimeSpan.FromMilliseconds(timeoutMs);
        var comparer = caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var entries = new List<KeywordEntry>();
        AddKeywords(rules.DenyKeywords, allow: false, phase + ".deny_keywords", comparer, entries);
        AddKeywords(rules.AllowKeywords, allow: true, phase + ".allow_keywords", comparer, entries);
        _keywords = new KeywordMatcher(entries, caseSensitive);
        _denyPatterns = CompileAll(rules.DenyPatterns, phase + ".deny_patterns", caseSensitive, timeout);
        _allowPatterns = CompileAll(rules.AllowPatterns, phase + ".allow_patterns", caseSensitive, timeout);
        HasDeny = entries.Exists(static e => !e.Allow) || _denyPatterns.Length > 0;
    }

    public bool HasDeny { get; }

    /// <summary>
    /// Compiles a rule pattern: with the non-backtracking engine (linear time in the text) when the pattern allows
    /// it, otherwise with the backtracking engine, whose worst case the match timeout bounds.
    /// </summary>
    internal static Regex Compile(string pattern, bool caseSensitive, TimeSpan timeout)
    {
        var options = RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase);
        try
        {
            return new Regex(pattern, options | RegexOptions.NonBacktracking, timeout);
        }
        catch (NotSupportedException)
        {
            // Lookarounds, backreferences, atomic groups and the like exist only in the backtracking engine.
            return new Regex(pattern, options | RegexOptions.Compiled, timeout);
        }
    }

    /// <summary>Adds the violations of <paramref name="text"/> to <paramref name="violations"/>, up to <paramref name="limit"/> in all.</summary>
    /// <exception cref="TimeoutException">A pattern took longer than the match timeout.</exception>
    public void Scan(string text, int textIndex, List<KeywordMatch> scratch, List<ContentViolation> violations, int limit)
    {
        if (text.Length == 0 || violations.Count >= limit)
        {
            return;
        }

        scratch.Clear();
        _keywords.FindAll(text, scratch);
        var entries = _keywords.Entries;
        List<(int Start, int End, string Rule)>? denied = null;
        foreach (var match in scratch)
        {
            if (!entries[match.Entry].Allow)
            {
                (denied ??= []).Add((match.Start, match.Start + match.Length, entries[match.Entry].Rule));
            }
        }

        foreach (var pattern in _denyPatterns)
        {
            AddMatches(pattern, text, ref denied);
        }

        if (denied is null)
        {
            return;
        }

        // Allow matches are only worth finding once something is denied: clean texts never pay for them.
        List<(int Start, int End, string Rule)>? allowed = null;
        foreach (var match in scratch)
        {
            if (entries[match.Entry].Allow)
            {
                (allowed ??= []).Add((match.Start, match.Start + match.Length, entries[match.Entry].Rule));
            }
        }

        foreach (var pattern in _allowPatterns)
        {
            AddMatches(pattern, text, ref allowed);
        }

        denied.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        foreach (var (start, end, rule) in denied)
        {
            if (allowed is null || !allowed.Exists(a => a.Start <= start && end <= a.End))
            {
                violations.Add(new ContentViolation(textIndex, start, end, rule));
                if (violations.Count >= limit)
                {
                    return;
                }
            }
        }
    }

    private void AddMatches((Regex Regex, string Rule) pattern, string text, ref List<(int Start, int End, string Rule)>? matches)
    {
        try
        {
            foreach (var match in pattern.Regex.EnumerateMatches(text))
            {
                // An empty match marks a position, not content: it has nothing to show or to cover, so it never counts.
                if (match.Length > 0)
                {
                    (matches ??= []).Add((match.Index, match.Index + match.Length, pattern.Rule));
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // A fresh exception on purpose: the regex one carries the scanned text in its Input property.
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"content-filter: {pattern.Rule} took longer than {_timeoutMs} ms"));
        }
    }

    private static (Regex, string)[] CompileAll(IReadOnlyList<string> patterns, string list, bool caseSensitive, TimeSpan timeout)
    {
        var compiled = new List<(Regex, string)>(patterns.Count);
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Length > 0)
            {
                var regex = Compile(patterns[i], caseSensitive, timeout);
                WarmUp(regex);
                compiled.Add((regex, RuleName(list, i)));
            }
        }

        return [.. compiled];
    }

    /// <summary>
    /// Runs a first match while the engine is being built: the non-backtracking engine builds its automaton lazily and
    /// the matcher code is compiled on first use, which on a busy machine can exceed a tight match timeout and would
    /// otherwise fail the first real request.
    /// </summary>
    private static void WarmUp(Regex regex)
    {
        try
        {
            _ = regex.IsMatch("Warm-up text: ÀÉ àé 0123456789 _-.,;:!?@#/\\ \n\t");
        }
        catch (RegexMatchTimeoutException)
        {
            // Only the warm-up ran out of time; real matches still have their own limit.
        }
    }

    private static void AddKeywords(IReadOnlyList<string> keywords, bool allow, string list, StringComparer comparer, List<KeywordEntry> entries)
    {
        var seen = new HashSet<string>(comparer);
        for (var i = 0; i < keywords.Count; i++)
        {
            // The first of duplicate keywords names the rule; lint warns about the others.
            if (!string.IsNullOrWhiteSpace(keywords[i]) && seen.Add(keywords[i]))
            {
                entries.Add(new KeywordEntry(keywords[i], allow, RuleName(list, i)));
            }
        }
    }

    internal static string RuleName(string list, int index) => string.Create(CultureInfo.InvariantCulture, $"{list}[{index}]");
}
