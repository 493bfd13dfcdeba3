namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// Telephone numbers in three shapes: international (<c>+CC …</c> or <c>00CC …</c>, E.164 length and a real
/// country calling code), North American (<c>(415) 555-0132</c>, NANP area and exchange rules) and national
/// numbers with a trunk zero (<c>020 7123 4567</c>, <c>090-1234-5678</c>). Dates, versions, IPs and card
/// numbers fail on digit count, grouping or separators.
/// </summary>
internal static class PhoneRules
{
    private static readonly string[] ContextWords = ["phone", "tel", "call", "mobile", "cell", "fax", "whatsapp", "sms", "contact"];

    public static void Find(in DigitCluster c, List<PiiMatch> results)
    {
        for (var a = 0; a < c.Count; a++)
        {
            if (a > 0 && c.Before(a) is not (Joiner.Space or Joiner.SpaceOpen or Joiner.Open))
            {
                continue;
            }

            var bestStart = -1;
            var bestLast = -1;
            var bestScore = 0.0;
            Consider(TryInternational(c, a, out var last), last, 0.75, ref bestStart, ref bestLast, ref bestScore);
            Consider(TryNorthAmerican(c, a, out last), last, 0.8, ref bestStart, ref bestLast, ref bestScore);
            Consider(TryNational(c, a, out last), last, 0.6, ref bestStart, ref bestLast, ref bestScore);
            if (bestStart < 0)
            {
                continue;
            }

            results.Add(new PiiMatch(PiiEntityType.PhoneNumber, bestStart, c.EndOf(bestLast) - bestStart, bestScore));
            a = bestLast;
        }
    }

    private static void Consider(int start, int last, double score, ref int bestStart, ref int bestLast, ref double bestScore)
    {
        if (start >= 0 && (bestStart < 0 || last > bestLast || (last == bestLast && start < bestStart)))
        {
            bestStart = start;
            bestLast = last;
            bestScore = score;
        }
    }

    private static char OpeningBefore(in DigitCluster c, int a) =>
        a == 0 ? c.Prefix : c.Before(a) is Joiner.Open or Joiner.SpaceOpen ? '(' : '\0';

    private static bool EndsCleanly(in DigitCluster c, int last) =>
        last == c.Count - 1 ? !c.GluedEnd : c.After(last) is not (Joiner.Dash or Joiner.Dot);

    private static bool IsOpen(Joiner j) => j is Joiner.Open or Joiner.SpaceOpen;

    private static bool IsClose(Joiner j) => j is Joiner.Close or Joiner.CloseSpace or Joiner.CloseDash;

    private static int TryInternational(in DigitCluster c, int a, out int last)
    {
        last = -1;
        var first = c.Digits(a);
        int skip;
        if (a == 0 && c.Prefix == '+')
        {
            skip = 0;
        }
        else if (first.Length >= 3 && first.StartsWith("00") && first[2] != '0' && OpeningBefore(c, a) == '\0')
        {
            skip = 2;
        }
        else
        {
            return -1;
        }

        var afterPrefix = first[skip..];
        var ccLength = afterPrefix.Length <= 3 && a < c.Count - 1
            ? (CountryCodes.IsCountryCode(afterPrefix) ? afterPrefix.Length : 0)
            : CountryCodes.PrefixLength(afterPrefix);
        if (ccLength == 0)
        {
            return -1;
        }

        var nanp = ccLength == 1 && afterPrefix[0] == '1';
        var digits = first.Length - skip;
        var singles = 0;
        var open = false;
        for (var b = a; b < c.Count; b++)
        {
            if (b > a)
            {
                var joiner = c.Before(b);
                if (IsOpen(joiner))
                {
                    if (open)
                    {
                        break;
                    }

                    open = true;
                }
                else if (IsClose(joiner))
                {
                    if (!open)
                    {
                        break;
                    }

                    open = false;
                }

                digits += c.Groups[b].Length;
                singles += c.Groups[b].Length == 1 ? 1 : 0;
            }

            if (digits > 16 || singles > 1)
            {
                break;
            }

            if (!open && digits >= 8 && EndsCleanly(c, b) && (!nanp || IsNanpNational(c, a, b, skip + 1)))
            {
                last = b;
            }
        }

        return last < 0 ? -1 : (skip == 0 ? c.StartOf(a) - 1 : c.StartOf(a));
    }

    // +1 numbers: exactly ten national digits, area and exchange starting 2-9.
    private static bool IsNanpNational(in DigitCluster c, int a, int last, int skipDigits)
    {
        Span<char> national = stackalloc char[12];
        var n = 0;
        for (var g = a; g <= last; g++)
        {
            var digits = c.Digits(g);
            if (g == a)
            {
                digits = digits[skipDigits..];
            }

            if (n + digits.Length > national.Length)
            {
                return false;
            }

            digits.CopyTo(national[n..]);
            n += digits.Length;
        }

        return n == 10 && national[0] >= '2' && national[3] >= '2';
    }

    private static int TryNorthAmerican(in DigitCluster c, int a, out int last)
    {
        last = -1;
        var opening = OpeningBefore(c, a);
        var area = a;
        var paren = opening == '(';
        if (opening == '+')
        {
            return -1;
        }

        if (c.Digits(a) is "1" && !paren && a + 3 < c.Count && c.After(a) is Joiner.Space or Joiner.Dash or Joiner.Dot or Joiner.SpaceOpen)
        {
            paren = c.After(a) == Joiner.SpaceOpen;
            area = a + 1;
        }

        if (area + 2 >= c.Count)
        {
            return TryCompactNorthAmerican(c, a, out last);
        }

        if (c.Groups[area].Length != 3 || c.Groups[area + 1].Length != 3 || c.Groups[area + 2].Length != 4
            || c.Digits(area)[0] < '2' || c.Digits(area + 1)[0] < '2')
        {
            return TryCompactNorthAmerican(c, a, out last);
        }

        var toExchange = c.After(area);
        var toLine = c.After(area + 1);
        var shaped = paren
            ? IsClose(toExchange) && toLine is Joiner.Dash or Joiner.Dot or Joiner.Space
            : toExchange is Joiner.Dash or Joiner.Dot or Joiner.Space or Joiner.SpacedDash && toLine == toExchange;
        if (!shaped || !EndsCleanly(c, area + 2))
        {
            return -1;
        }

        last = area + 2;
        return paren && area == a ? c.StartOf(a) - 1 : c.StartOf(a);
    }

    // Ten bare digits are as likely an order number as a phone: require a phone word before them.
    private static int TryCompactNorthAmerican(in DigitCluster c, int a, out int last)
    {
        last = -1;
        var digits = c.Digits(a);
        if (digits.Length == 11 && digits[0] == '1')
        {
            digits = digits[1..];
        }

        if (digits.Length != 10 || digits[0] < '2' || digits[3] < '2' || OpeningBefore(c, a) != '\0'
            || !c.StandsAlone(a, a, Joiner.None) || !CharText.HasContextBefore(c.Text, c.StartOf(a), 32, ContextWords))
        {
            return -1;
        }

        last = a;
        return c.StartOf(a);
    }

    private static int TryNational(in DigitCluster c, int a, out int last)
    {
        last = -1;
        var trunk = c.Digits(a);
        var paren = OpeningBefore(c, a) == '(';
        if (OpeningBefore(c, a) == '+' || trunk.Length is < 2 or > 5 || trunk[0] != '0' || trunk[1] == '0' || a == c.Count - 1)
        {
            return -1;
        }

        var first = c.After(a);
        if (paren ? !IsClose(first) : first is not (Joiner.Space or Joiner.Dash or Joiner.Dot))
        {
            return -1;
        }

        var separator = paren ? Joiner.None : first;
        var digits = trunk.Length;
        var allPairs = true;
        for (var b = a + 1; b < c.Count; b++)
        {
            if (b > a + 1)
            {
                var joiner = c.Before(b);
                if (separator == Joiner.None && joiner is Joiner.Space or Joiner.Dash or Joiner.Dot)
                {
                    separator = joiner;
                }

                if (joiner != separator)
                {
                    break;
                }
            }

            var length = c.Groups[b].Length;
            if (length < 2)
            {
                break;
            }

            digits += length;
            allPairs &= length == 2;
            if (digits > 12)
            {
                break;
            }

            var ssnShaped = b == a + 2 && trunk.Length == 3 && c.Groups[a + 1].Length == 2 && length == 4;
            if (digits >= 9 && !ssnShaped && (!allPairs || b - a >= 4) && EndsCleanly(c, b))
            {
                last = b;
            }
        }

        return last < 0 ? -1 : (paren ? c.StartOf(a) - 1 : c.StartOf(a));
    }
}
