namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// E-mail addresses, found from their <c>@</c>: a dot-atom local part (letters, digits and <c>._%+-</c>, any
/// script) and a domain of at least two labels ending in an alphabetic or punycode (<c>xn--</c>) TLD. The
/// credentials part of a URL (<c>https://user:pass@host</c>) is left to the secret detector.
/// </summary>
internal static class EmailDetector
{
    private const int MaxLocal = 64;
    private const int MaxDomain = 253;

    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOf('@');
            if (next < 0)
            {
                return;
            }

            var at = i + next;
            var (start, end) = TryAt(text, i, at);
            if (end > 0)
            {
                results.Add(new PiiMatch(PiiEntityType.EmailAddress, start, end - start, 1.0));
                i = end;
            }
            else
            {
                i = at + 1;
            }
        }
    }

    private static bool IsLocalChar(char c) => c < 128 ? char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-' : char.IsLetterOrDigit(c);

    private static bool IsLabelChar(char c) => c < 128 ? char.IsAsciiLetterOrDigit(c) || c == '-' : char.IsLetterOrDigit(c);

    private static (int Start, int End) TryAt(ReadOnlySpan<char> text, int floor, int at)
    {
        var start = at;
        while (start > floor && at - start <= MaxLocal && IsLocalChar(text[start - 1]))
        {
            start--;
        }

        var before = CharText.At(text, start - 1);
        if (at - start > MaxLocal || (start > floor && IsLocalChar(before)) || before == '@' || IsUrlUserInfo(text, at))
        {
            return default;
        }

        // Punctuation that cannot open a dot-atom belongs to the sentence ("...john@example.com").
        while (start < at && text[start] is '.' or '-' or '+')
        {
            start++;
        }

        if (start == at || text[at - 1] == '.' || text[start..at].Contains("..", StringComparison.Ordinal))
        {
            return default;
        }

        return (start, DomainEnd(text, at + 1));
    }

    // "scheme://user:password@host": what precedes '@' is the URL's credentials, not a mailbox.
    private static bool IsUrlUserInfo(ReadOnlySpan<char> text, int at)
    {
        var i = at - 1;
        while (i >= 0 && at - i < 256 && !char.IsWhiteSpace(text[i]) && text[i] is not ('/' or '@' or '"' or '\'' or '<' or '('))
        {
            i--;
        }

        return i >= 2 && text[i] == '/' && text[i - 1] == '/' && text[i - 2] == ':';
    }

    private static int DomainEnd(ReadOnlySpan<char> text, int from)
    {
        var pos = from;
        var labels = 0;
        var lastLabelStart = from;
        while (true)
        {
            var labelStart = pos;
            while (pos < text.Length && pos - from <= MaxDomain && IsLabelChar(text[pos]))
            {
                pos++;
            }

            var length = pos - labelStart;
            if (length == 0 || length > 63 || pos - from > MaxDomain || text[labelStart] == '-' || text[pos - 1] == '-')
            {
                return 0;
            }

            labels++;
            lastLabelStart = labelStart;
            if (CharText.At(text, pos) == '.' && IsLabelChar(CharText.At(text, pos + 1)))
            {
                pos++;
                continue;
            }

            break;
        }

        if (labels < 2 || !IsTopLevelDomain(text[lastLabelStart..pos]))
        {
            return 0;
        }

        var after = CharText.At(text, pos);
        return after is '@' or '_' ? 0 : pos;
    }

    private static bool IsTopLevelDomain(ReadOnlySpan<char> label)
    {
        if (label.Length >= 5 && label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (label.Length < 2)
        {
            return false;
        }

        foreach (var c in label)
        {
            if (!char.IsLetter(c))
            {
                return false;
            }
        }

        return true;
    }
}
