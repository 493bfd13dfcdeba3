using Keeptrusts.Policy.Configuration;

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

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> in full (see <see cref="Glob"/>).</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name) => Glob.IsMatch(pattern, name);
}
