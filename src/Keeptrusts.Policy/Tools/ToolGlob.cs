namespace Keeptrusts.Policy.Tools;

/// <summary>Glob matching of tool names: <c>*</c> is any run of characters, <c>?</c> any one; case never matters.</summary>
internal static class ToolGlob
{
    /// <summary>
    /// Whether <paramref name="c"/> may appear in a tool pattern: the characters MCP allows in tool names (letters,
    /// digits, <c>_</c>, <c>-</c>, <c>.</c>, <c>/</c>) plus the wildcards.
    /// </summary>
    public static bool IsPatternChar(char c) => IsNameChar(c) || c is '*' or '?';

    /// <summary>The characters of tool names.</summary>
    public static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':';

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> in full; O(pattern × name) at worst.</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(name[t])))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
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
}
