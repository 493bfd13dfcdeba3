using System.Buffers;
using System.Globalization;
using System.Text;

namespace Keeptrusts.Policy.Policies.ContentFilter;

/// <summary>One keyword of a phase, deny or allow, with the rule it came from.</summary>
internal readonly record struct KeywordEntry(string Keyword, bool Allow, string Rule);

/// <summary>A keyword occurrence: where it is and which entry it matched.</summary>
internal readonly record struct KeywordMatch(int Start, int Length, int Entry);

/// <summary>
/// Finds whole-word keyword occurrences. All keywords of a phase share one <see cref="SearchValues{T}"/>, so a clean
/// text costs one vectorised pass however many keywords there are; only positions where some keyword occurs are
/// checked for word boundaries.
/// </summary>
internal sealed class KeywordMatcher
{
    private readonly KeywordEntry[] _entries;
    private readonly bool[] _boundedStart;
    private readonly bool[] _boundedEnd;
    private readonly SearchValues<string>? _values;
    private readonly StringComparison _comparison;

    public KeywordMatcher(IReadOnlyList<KeywordEntry> entries, bool caseSensitive)
    {
        _comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        _entries = [.. entries.Where(static e => !string.IsNullOrWhiteSpace(e.Keyword))];
        _boundedStart = new bool[_entries.Length];
        _boundedEnd = new bool[_entries.Length];
        for (var i = 0; i < _entries.Length; i++)
        {
            // A keyword edge that is itself punctuation ("c++", "#tag") has no word boundary to respect.
            var keyword = _entries[i].Keyword.AsSpan();
            _boundedStart[i] = Rune.DecodeFromUtf16(keyword, out var first, out _) == OperationStatus.Done && IsWordRune(first);
            _boundedEnd[i] = Rune.DecodeLastFromUtf16(keyword, out var last, out _) == OperationStatus.Done && IsWordRune(last);
        }

        if (_entries.Length > 0)
        {
            var distinct = _entries.Select(static e => e.Keyword).Distinct(caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase).ToArray();
            _values = SearchValues.Create(distinct, _comparison);
        }
    }

    public IReadOnlyList<KeywordEntry> Entries => _entries;

    /// <summary>Every whole-word occurrence of every keyword, by start position; overlapping occurrences included.</summary>
    public void FindAll(string text, List<KeywordMatch> matches)
    {
        if (_values is null)
        {
            return;
        }

        var span = text.AsSpan();
        var offset = 0;
        while (offset < span.Length)
        {
            var found = span[offset..].IndexOfAny(_values);
            if (found < 0)
            {
                return;
            }

            var start = offset + found;
            var rest = span[start..];
            for (var i = 0; i < _entries.Length; i++)
            {
                var keyword = _entries[i].Keyword;
                if (rest.StartsWith(keyword, _comparison)
                    && (!_boundedStart[i] || !IsWordBefore(span, start))
                    && (!_boundedEnd[i] || !IsWordAt(span, start + keyword.Length)))
                {
                    matches.Add(new KeywordMatch(start, keyword.Length, i));
                }
            }

            offset = start + 1;
        }
    }

    /// <summary>
    /// Word characters as regular expressions' <c>\w</c> sees them, for every script: letters, combining marks,
    /// decimal digits and connector punctuation. Decoding runes keeps letters outside the BMP whole.
    /// </summary>
    internal static bool IsWordRune(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation => true,
        _ => false,
    };

    private static bool IsWordBefore(ReadOnlySpan<char> text, int index) =>
        index > 0 && Rune.DecodeLastFromUtf16(text[..index], out var rune, out _) == OperationStatus.Done && IsWordRune(rune);

    private static bool IsWordAt(ReadOnlySpan<char> text, int index) =>
        index < text.Length && Rune.DecodeFromUtf16(text[index..], out var rune, out _) == OperationStatus.Done && IsWordRune(rune);
}
