namespace Keeptrusts.Policy.Configuration;

/// <summary>
/// Full-match globs for names in a configuration (model ids, tool names): <c>*</c> is any run of characters, <c>?</c>
/// any one; case never matters.
/// </summary>
internal static class Glob
{
    /// <summary>
    /// Whether <paramref name="text"/> matches <paramref name="pattern"/> in full. Greedy with one remembered star,
    /// so the cost stays O(pattern × text) at worst however many stars there are.
    /// </summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || SameIgnoringCase(pattern[p], text[t])))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                // Let the last star swallow one more character and retry the rest of the pattern from there.
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool SameIgnoringCase(char a, char b) => a == b || char.ToUpperInvariant(a) == char.ToUpperInvariant(b);
}
