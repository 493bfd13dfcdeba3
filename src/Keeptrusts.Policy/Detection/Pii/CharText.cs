namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Character classes and small text probes shared by the detectors.</summary>
internal static class CharText
{
    public static bool IsDigit(char c) => (uint)(c - '0') <= 9;

    /// <summary>Letters and digits of any script, plus underscore: what continues an identifier-like token.</summary>
    public static bool IsWordChar(char c) => c < 128 ? char.IsAsciiLetterOrDigit(c) || c == '_' : char.IsLetterOrDigit(c);

    public static bool IsWordCharAt(ReadOnlySpan<char> text, int index) => (uint)index < (uint)text.Length && IsWordChar(text[index]);

    public static char At(ReadOnlySpan<char> text, int index) => (uint)index < (uint)text.Length ? text[index] : '\0';

    public static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    public static bool IsLineBreak(char c) => c is '\n' or '\r';

    /// <summary>
    /// True when one of <paramref name="words"/> occurs (ignoring case) in the <paramref name="window"/>
    /// characters before <paramref name="index"/>, without crossing a line break: context is a
    /// property of the line a value sits on.
    /// </summary>
    public static bool HasContextBefore(ReadOnlySpan<char> text, int index, int window, ReadOnlySpan<string> words)
    {
        var from = Math.Max(0, index - window);
        var slice = text[from..index];
        var lineBreak = slice.LastIndexOfAny('\n', '\r');
        if (lineBreak >= 0)
        {
            slice = slice[(lineBreak + 1)..];
        }

        foreach (var word in words)
        {
            if (slice.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Shannon entropy in bits per character of an ASCII string; non-ASCII characters share one bucket.</summary>
    public static double ShannonEntropy(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return 0;
        }

        Span<int> counts = stackalloc int[129];
        counts.Clear();
        foreach (var c in value)
        {
            counts[c < 128 ? c : 128]++;
        }

        double entropy = 0;
        double length = value.Length;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = count / length;
                entropy -= p * Math.Log2(p);
            }
        }

        return entropy;
    }
}
