namespace Keeptrusts.Policy.Policies.ModelAllowlist;

/// <summary>Glob matching of model ids: <c>*</c> is any run of characters, <c>?</c> any one; case never matters.</summary>
internal static class ModelGlob
{
    /// <summary>Whether <paramref name="c"/> may appear in a model pattern: what model ids are made of, plus the wildcards.</summary>
    public static bool IsPatternChar(char c) => IsModelIdChar(c) || c is '*' or '?';

    /// <summary>The characters of provider model ids (<c>gpt-4o-2024-08-06</c>, <c>anthropic.claude-3-5-sonnet-20240620-v1:0</c>, <c>meta-llama/Llama-3.1-8B@latest</c>).</summary>
    public static bool IsModelIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/' or '@' or '+';

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
