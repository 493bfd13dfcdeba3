namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Judges whether a value found next to a secret-looking name is a credential or just text, a placeholder or code.</summary>
internal static class SecretValues
{
    private static readonly string[] PlaceholderFragments =
    [
        "example", "password", "passwd", "changeme", "change_me", "placeholder", "redacted", "your_", "your-", "yourpass", "xxxx", "****", "....", "<", ">", "${", "{{", "}}", "%(", "process.env", "os.environ", "getenv",
    ];

    private static readonly string[] PlaceholderValues =
    [
        "password", "passwd", "secret", "token", "null", "none", "nil", "true", "false", "undefined", "required", "optional",
        "string", "str", "bool", "int", "pass", "empty", "test", "dummy", "sample", "default", "hidden", "masked", "unknown",
    ];

    /// <summary>
    /// Documentation placeholders, template and environment references, masks: never a live secret.
    /// Values that open with a bracket are also skipped, which keeps redaction placeholders from being flagged again.
    /// </summary>
    public static bool IsPlaceholder(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value[0] is '$' or '{' or '<' or '[' or '%' or '@' or '&' or '*' or '.' or '=' or ':' or ',')
        {
            return true;
        }

        foreach (var fragment in PlaceholderFragments)
        {
            if (value.Contains(fragment, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        var bare = value.TrimEnd("=:");
        foreach (var placeholder in PlaceholderValues)
        {
            if (bare.Equals(placeholder, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return IsRepetitive(value);
    }

    /// <summary>One character makes up more than half of the value (<c>xxxxxxxx</c>, <c>AKCxxxxxxxx</c>).</summary>
    public static bool IsRepetitive(ReadOnlySpan<char> value)
    {
        Span<int> counts = stackalloc int[128];
        counts.Clear();
        var max = 0;
        foreach (var c in value)
        {
            if (c < 128)
            {
                max = Math.Max(max, ++counts[c]);
            }
        }

        return max * 2 > value.Length;
    }

    /// <summary>
    /// Reads like words or an identifier rather than a random credential: a single letter case, at most two
    /// digits, and either separators between the words (<c>not-long-enough</c>, <c>MY_SECRET</c>) or a short
    /// all-letter word (<c>notapassword</c>).
    /// </summary>
    public static bool IsWordLike(ReadOnlySpan<char> value)
    {
        bool upper = false, lower = false, separator = false;
        var digits = 0;
        foreach (var c in value)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                upper = true;
            }
            else if (char.IsAsciiLetterLower(c))
            {
                lower = true;
            }
            else if (CharText.IsDigit(c))
            {
                digits++;
            }
            else if (c is '-' or '_' or '.' or ' ' or '/')
            {
                separator = true;
            }
            else
            {
                return false;
            }
        }

        if ((upper && lower) || digits > 2)
        {
            return false;
        }

        return separator || (digits == 0 && value.Length < 16);
    }

    /// <summary>A member access or call such as <c>settings.api_key</c> or <c>vault.read(path)</c>: code, not a value.</summary>
    public static bool IsCodeExpression(ReadOnlySpan<char> value)
    {
        if (value.ContainsAny('(', ')') || value.Contains("://", StringComparison.Ordinal))
        {
            return true;
        }

        if (!value.Contains('.') || !(char.IsAsciiLetter(value[0]) || value[0] == '_'))
        {
            return false;
        }

        var digits = 0;
        var segmentStart = true;
        foreach (var c in value)
        {
            if (c == '.')
            {
                segmentStart = true;
                continue;
            }

            if (segmentStart && !(char.IsAsciiLetter(c) || c == '_'))
            {
                return false;
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }

            digits += CharText.IsDigit(c) ? 1 : 0;
            segmentStart = false;
        }

        return digits <= 2;
    }

    /// <summary>Upper case, lower case and digits all present.</summary>
    public static bool HasMixedClasses(ReadOnlySpan<char> value) =>
        value.ContainsAnyInRange('A', 'Z') && value.ContainsAnyInRange('a', 'z') && value.ContainsAnyInRange('0', '9');
}
