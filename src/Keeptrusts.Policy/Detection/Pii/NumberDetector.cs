using System.Net;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// One pass over the digits of the text. Each digit run is checked as the start of an IBAN or a Bitcoin
/// address, then grouped with its neighbours into a <see cref="DigitCluster"/> that the card, SSN, phone and
/// IPv4 rules read. Resuming after the cluster keeps the pass linear.
/// </summary>
internal static class NumberDetector
{
    private const PiiEntityType ClusterTypes = PiiEntityType.CreditCard | PiiEntityType.UsSsn | PiiEntityType.PhoneNumber | PiiEntityType.IpAddress;

    public static void Scan(ReadOnlySpan<char> text, PiiEntityType entities, List<PiiMatch> results)
    {
        Span<DigitGroup> groups = stackalloc DigitGroup[DigitCluster.MaxGroups];
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAnyInRange('0', '9');
            if (next < 0)
            {
                return;
            }

            i = ScanRun(text, i + next, entities, groups, results);
        }
    }

    private static int ScanRun(ReadOnlySpan<char> text, int p, PiiEntityType entities, Span<DigitGroup> groups, List<PiiMatch> results)
    {
        if ((entities & PiiEntityType.IbanCode) != 0 && p >= 2 && char.IsAsciiLetterUpper(text[p - 1]) && char.IsAsciiLetterUpper(text[p - 2]))
        {
            var length = IbanDetector.TryMatch(text, p);
            if (length > 0)
            {
                results.Add(new PiiMatch(PiiEntityType.IbanCode, p - 2, length, 1.0));
                return p - 2 + length;
            }
        }

        if ((entities & PiiEntityType.Crypto) != 0)
        {
            var end = CryptoDetector.TryMatch(text, p, results);
            if (end > 0)
            {
                return end;
            }
        }

        var before = CharText.At(text, p - 1);
        var prefix = before is '+' or '(' ? before : '\0';
        var outside = prefix == '\0' ? before : CharText.At(text, p - 2);
        var outsideAt = prefix == '\0' ? p - 1 : p - 2;
        var gluedStart = CharText.IsWordChar(outside)
            || (outside is '.' or '-' or '/' && CharText.IsWordCharAt(text, outsideAt - 1));
        if (gluedStart)
        {
            // Part of a code such as "v1.2.3", "abc-123" or a failed IBAN: skip the whole code, not just this run.
            return SkipGluedCode(text, p);
        }

        var count = 0;
        var pos = p;
        while (true)
        {
            var start = pos;
            while (pos < text.Length && CharText.IsDigit(text[pos]))
            {
                pos++;
            }

            groups[count++] = new DigitGroup { Start = start, Length = pos - start };
            if (count == DigitCluster.MaxGroups)
            {
                break;
            }

            var (joiner, joinerLength) = ReadJoiner(text, pos);
            if (joiner == Joiner.None || !CharText.IsDigit(CharText.At(text, pos + joinerLength)))
            {
                break;
            }

            groups[count - 1].Next = joiner;
            groups[count - 1].NextLength = joinerLength;
            pos += joinerLength;
        }

        var after = CharText.At(text, pos);
        var gluedEnd = CharText.IsWordChar(after) || after == '@'
            || (after is '.' or '-' && CharText.IsWordCharAt(text, pos + 1));
        if ((entities & ClusterTypes) != 0)
        {
            var cluster = new DigitCluster(text, groups, count, prefix, gluedStart: false, gluedEnd);
            if ((entities & PiiEntityType.IpAddress) != 0)
            {
                FindIpv4(cluster, results);
            }

            if ((entities & PiiEntityType.CreditCard) != 0)
            {
                CardRules.Find(cluster, results);
            }

            if ((entities & PiiEntityType.UsSsn) != 0)
            {
                SsnRules.Find(cluster, results);
            }

            if ((entities & PiiEntityType.PhoneNumber) != 0)
            {
                PhoneRules.Find(cluster, results);
            }
        }

        return pos;
    }

    private static int SkipGluedCode(ReadOnlySpan<char> text, int p)
    {
        var end = p;
        while (end < text.Length && (CharText.IsWordChar(text[end]) || (text[end] is '.' or '-' && CharText.IsWordCharAt(text, end + 1))))
        {
            end++;
        }

        // A printed IBAN that failed validation continues in space-separated groups of up to four.
        if (p >= 2 && end - p >= 2 && char.IsAsciiLetterUpper(text[p - 1]) && char.IsAsciiLetterUpper(text[p - 2]))
        {
            while (CharText.At(text, end) == ' ')
            {
                var groupEnd = end + 1;
                while (groupEnd < text.Length && groupEnd - end <= 4 && (char.IsAsciiLetterUpper(text[groupEnd]) || CharText.IsDigit(text[groupEnd])))
                {
                    groupEnd++;
                }

                if (groupEnd == end + 1 || groupEnd - end > 5 || CharText.IsWordCharAt(text, groupEnd))
                {
                    break;
                }

                end = groupEnd;
            }
        }

        return Math.Max(end, p + 1);
    }

    private static (Joiner Kind, int Length) ReadJoiner(ReadOnlySpan<char> text, int pos)
    {
        var c1 = CharText.At(text, pos + 1);
        return CharText.At(text, pos) switch
        {
            ' ' when c1 == '-' && CharText.At(text, pos + 2) == ' ' => (Joiner.SpacedDash, 3),
            ' ' when c1 == '(' => (Joiner.SpaceOpen, 2),
            ' ' => (Joiner.Space, 1),
            '-' => (Joiner.Dash, 1),
            '.' => (Joiner.Dot, 1),
            ')' when c1 == ' ' => (Joiner.CloseSpace, 2),
            ')' when c1 == '-' => (Joiner.CloseDash, 2),
            ')' => (Joiner.Close, 1),
            '(' => (Joiner.Open, 1),
            _ => (Joiner.None, 0),
        };
    }

    // Four dot-joined groups that are not part of a longer dotted number (a version such as 1.2.3.4.5).
    private static void FindIpv4(in DigitCluster c, List<PiiMatch> results)
    {
        for (var a = 0; a < c.Count; a++)
        {
            var b = a;
            while (b < c.Count - 1 && c.After(b) == Joiner.Dot)
            {
                b++;
            }

            var isDottedRun = a == 0 || c.Before(a) != Joiner.Dot;
            if (isDottedRun && b - a == 3 && (b < c.Count - 1 || !c.GluedEnd) && AreOctets(c, a, b))
            {
                var start = c.StartOf(a);
                var end = c.EndOf(b);
                var text = c.Text;
                if (IPAddress.TryParse(text[start..end], out _))
                {
                    end += PrefixLength(text, end, 32);
                    results.Add(new PiiMatch(PiiEntityType.IpAddress, start, end - start, 0.95));
                }
            }

            a = b;
        }
    }

    private static bool AreOctets(in DigitCluster c, int first, int last)
    {
        for (var g = first; g <= last; g++)
        {
            var digits = c.Digits(g);
            if (digits.Length > 3 || (digits.Length > 1 && digits[0] == '0') || int.Parse(digits) > 255)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Length of a CIDR suffix such as <c>/24</c> at <paramref name="at"/>, or 0 when there is none or it is out of range.</summary>
    public static int PrefixLength(ReadOnlySpan<char> text, int at, int max)
    {
        if (CharText.At(text, at) != '/')
        {
            return 0;
        }

        var end = at + 1;
        while (end < text.Length && end - at <= 4 && CharText.IsDigit(text[end]))
        {
            end++;
        }

        var digits = text[(at + 1)..end];
        if (digits.IsEmpty || digits.Length > 3 || CharText.IsWordCharAt(text, end) || (digits.Length > 1 && digits[0] == '0'))
        {
            return 0;
        }

        return int.Parse(digits) <= max ? end - at : 0;
    }
}
