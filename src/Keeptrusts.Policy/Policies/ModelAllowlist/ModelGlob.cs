using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Policies.ModelAllowlist;

/// <summary>Glob matching of model ids: <c>*</c> is any run of characters, <c>?</c> any one; case never matters.</summary>
internal static class ModelGlob
{
    /// <summary>Whether <paramref name="c"/> may appear in a model pattern: what model ids are made of, plus the wildcards.</summary>
    public static bool IsPatternChar(char c) => IsModelIdChar(c) || c is '*' or '?';

    /// <summary>The characters of provider model ids (<c>gpt-4o-2024-08-06</c>, <c>anthropic.claude-3-5-sonnet-20240620-v1:0</c>, <c>meta-llama/Llama-3.1-8B@latest</c>).</summary>
    public static bool IsModelIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/' or '@' or '+';

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/> in full (see <see cref="Glob"/>).</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text) => Glob.IsMatch(pattern, text);
}
