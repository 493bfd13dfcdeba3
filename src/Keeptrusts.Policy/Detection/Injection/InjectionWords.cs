namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Word navigation over normalised text. Rules look at a handful of words around an anchor, so these walk
/// outwards from a position instead of tokenising the whole text.
/// </summary>
internal static class InjectionWords
{
    // Rules look at neighbouring words only. Capping how far navigation walks over punctuation runs and giant
    // "words" keeps every rule O(1), so hostile inputs ("## ## ## ...", 100k-letter tokens) stay linear overall.
    private const int MaxGap = 48;
    private const int MaxWord = 64;

    /// <summary>Returns whether <paramref name="c"/> can be part of a word in normalised text.</summary>
    public static bool IsWordChar(char c) =>
        char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || (c >= 0x80 && char.IsLetter(c));

    /// <summary>Returns whether <paramref name="c"/> ends a clause for the purpose of phrase matching.</summary>
    /// <remarks>A single line break is not a break: attackers wrap lines to split a phrase. A blank line is.</remarks>
    public static bool IsBreak(char c) => c is '.' or '!' or '?' or ';';

    /// <summary>Returns whether a word starts exactly at <paramref name="index"/>.</summary>
    public static bool StartsWord(ReadOnlySpan<char> s, int index) => index == 0 || !IsWordChar(s[index - 1]);

    /// <summary>Returns the end (exclusive) of the word that starts at <paramref name="start"/>.</summary>
    public static int WordEnd(ReadOnlySpan<char> s, int start)
    {
        var i = start;
        var limit = Math.Min(s.Length, start + MaxWord);
        while (i < limit && (IsWordChar(s[i]) || (s[i] == '\'' && i > start && i + 1 < s.Length && IsWordChar(s[i + 1]))))
        {
            i++;
        }

        return i;
    }

    /// <summary>Finds the next word at or after <paramref name="from"/>.</summary>
    public static bool Next(ReadOnlySpan<char> s, int from, out int start, out int end, out bool crossedBreak)
    {
        crossedBreak = false;
        var i = from;
        var newlines = 0;
        var limit = Math.Min(s.Length, from + MaxGap);
        while (i < limit && !IsWordChar(s[i]))
        {
            crossedBreak |= IsBreak(s[i]) || (s[i] == '\n' && ++newlines > 1);
            i++;
        }

        start = i;
        if (i >= limit)
        {
            end = i;
            return false;
        }

        end = WordEnd(s, i);
        return true;
    }

    /// <summary>Finds the word that ends at or before <paramref name="before"/> (exclusive).</summary>
    public static bool Prev(ReadOnlySpan<char> s, int before, out int start, out int end, out bool crossedBreak)
    {
        crossedBreak = false;
        var i = Math.Min(before, s.Length) - 1;
        var newlines = 0;
        var limit = Math.Max(-1, i - MaxGap);
        while (i > limit && !IsWordChar(s[i]))
        {
            crossedBreak |= IsBreak(s[i]) || (s[i] == '\n' && ++newlines > 1);
            i--;
        }

        end = i + 1;
        if (i <= limit)
        {
            start = end;
            return false;
        }

        var wordLimit = Math.Max(0, i - MaxWord);
        while (i > wordLimit && (IsWordChar(s[i - 1]) || (s[i - 1] == '\'' && i - 2 >= 0 && IsWordChar(s[i - 2]))))
        {
            i--;
        }

        start = i;
        return true;
    }

    /// <summary>Returns the word without a possessive "'s" or a trailing apostrophe.</summary>
    public static ReadOnlySpan<char> Stem(ReadOnlySpan<char> word)
    {
        if (word.EndsWith("'s"))
        {
            return word[..^2];
        }

        return word.EndsWith('\'') ? word[..^1] : word;
    }

    /// <summary>Returns whether any of the next <paramref name="count"/> words (same clause) satisfies <paramref name="match"/>.</summary>
    public static bool AnyAhead(ReadOnlySpan<char> s, int from, int count, WordPredicate match, out int matchEnd, bool allowBreak = false)
    {
        var pos = from;
        for (var n = 0; n < count; n++)
        {
            if (!Next(s, pos, out var ws, out var we, out var brk) || (brk && !allowBreak))
            {
                break;
            }

            if (match(Stem(s[ws..we])))
            {
                matchEnd = we;
                return true;
            }

            pos = we;
        }

        matchEnd = from;
        return false;
    }

    /// <summary>Returns whether any of the previous <paramref name="count"/> words (same clause) satisfies <paramref name="match"/>.</summary>
    public static bool AnyBehind(ReadOnlySpan<char> s, int before, int count, WordPredicate match)
    {
        var pos = before;
        for (var n = 0; n < count; n++)
        {
            if (!Prev(s, pos, out var ws, out var we, out var brk) || brk)
            {
                return false;
            }

            if (match(Stem(s[ws..we])))
            {
                return true;
            }

            pos = ws;
        }

        return false;
    }

    /// <summary>Returns the previous word (same clause) or an empty span.</summary>
    public static ReadOnlySpan<char> PrevWord(ReadOnlySpan<char> s, int before, out int start)
    {
        if (Prev(s, before, out start, out var end, out var brk) && !brk)
        {
            return s[start..end];
        }

        start = before;
        return [];
    }

    /// <summary>Returns the next word (same clause) or an empty span.</summary>
    public static ReadOnlySpan<char> NextWord(ReadOnlySpan<char> s, int from, out int end)
    {
        if (Next(s, from, out var start, out end, out var brk) && !brk)
        {
            return s[start..end];
        }

        end = from;
        return [];
    }

    /// <summary>Returns the first non-space character at or after <paramref name="from"/>, or '\0'.</summary>
    public static char NextNonSpace(ReadOnlySpan<char> s, int from)
    {
        var limit = Math.Min(s.Length, from + MaxGap);
        for (var i = from; i < limit; i++)
        {
            if (s[i] is not (' ' or '\t'))
            {
                return s[i];
            }
        }

        return '\0';
    }

    /// <summary>Returns whether only whitespace or markup punctuation precedes <paramref name="index"/> on its line.</summary>
    public static bool AtLineStart(ReadOnlySpan<char> s, int index)
    {
        // A run of markup longer than the window is itself a header decoration, so running out of window counts too.
        var limit = Math.Max(0, index - MaxGap);
        for (var i = index - 1; i >= limit; i--)
        {
            var c = s[i];
            if (c is '\n' or '\r')
            {
                return true;
            }

            if (c is ' ' or '\t' or '[' or '(' or '#' or '*' or '>' or '<' or '-' or '=' or '|' or '{' or '_')
            {
                continue;
            }

            // A sentence end also starts a forged "line" in prompts that were flattened onto one line.
            return c is '.' or '!' or '?' or '"' or ']' or ')' or '}';
        }

        return true;
    }
}

/// <summary>A test applied to one word.</summary>
internal delegate bool WordPredicate(ReadOnlySpan<char> word);
