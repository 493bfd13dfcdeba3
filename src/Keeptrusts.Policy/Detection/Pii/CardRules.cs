namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Payment cards: 13–19 digits, compact or grouped by spaces or dashes, a known issuer range and length, and a valid Luhn digit.</summary>
internal static class CardRules
{
    public static void Find(in DigitCluster c, List<PiiMatch> results)
    {
        for (var a = 0; a < c.Count; a++)
        {
            var best = -1;
            var digits = 0;
            for (var b = a; b < c.Count; b++)
            {
                digits += c.Groups[b].Length;
                var inner = c.UniformJoiner(a, b);
                if (digits > 19 || inner is not (Joiner.None or Joiner.Space or Joiner.Dash))
                {
                    break;
                }

                if (digits >= 13 && IsGroupingPlausible(c, a, b) && c.StandsAlone(a, b, inner.Value) && !ContinuesWithSpaces(c, a, b, inner.Value)
                    && IsIssuerPlausible(c.Text[c.StartOf(a)..c.EndOf(b)], digits)
                    && Checksums.IsLuhnValid(c.Text[c.StartOf(a)..c.EndOf(b)]))
                {
                    best = b;
                }
            }

            if (best >= 0)
            {
                results.Add(new PiiMatch(PiiEntityType.CreditCard, c.StartOf(a), c.EndOf(best) - c.StartOf(a), 1.0));
                a = best;
            }
        }
    }

    // "4111 1111 1111 1111 1234" is one longer number, not a card followed by something else.
    private static bool ContinuesWithSpaces(in DigitCluster c, int first, int last, Joiner inner) =>
        inner == Joiner.Space && (c.Before(first) == Joiner.Space || (last < c.Count - 1 && c.After(last) == Joiner.Space));

    // Printed cards lead with four digits and group by 4 (or 4-6-5 / 4-6-4 for Amex and Diners).
    private static bool IsGroupingPlausible(in DigitCluster c, int first, int last)
    {
        if (first == last)
        {
            return true;
        }

        if (c.Groups[first].Length != 4)
        {
            return false;
        }

        for (var g = first + 1; g < last; g++)
        {
            if (c.Groups[g].Length is < 3 or > 6)
            {
                return false;
            }
        }

        return c.Groups[last].Length <= 6;
    }

    /// <summary>Whether the leading digits and the length fit a card network's issuer ranges.</summary>
    public static bool IsIssuerPlausible(ReadOnlySpan<char> number, int length)
    {
        var iin = 0;
        var taken = 0;
        foreach (var ch in number)
        {
            if (CharText.IsDigit(ch))
            {
                iin = (iin * 10) + (ch - '0');
                if (++taken == 6)
                {
                    break;
                }
            }
        }

        if (taken < 6)
        {
            return false;
        }

        var p1 = iin / 100_000;
        var p2 = iin / 10_000;
        var p3 = iin / 1_000;
        var p4 = iin / 100;
        return p1 switch
        {
            1 => length == 15, // UATP
            2 => p4 is >= 2221 and <= 2720 ? length == 16 : p4 is >= 2200 and <= 2204 && length >= 16, // Mastercard 2-series, Mir
            3 => p2 is 34 or 37 ? length == 15 // Amex
                : p4 is >= 3528 and <= 3589 ? length >= 16 // JCB
                : (p3 is >= 300 and <= 305) || p4 == 3095 || p2 is 36 or 38 or 39 ? length >= 14 // Diners
                : false,
            4 => length is 13 or 16 or 19, // Visa
            5 => p2 is >= 51 and <= 55 ? length == 16 // Mastercard
                : p2 is 50 or (>= 56 and <= 58), // Maestro, Dankort, Verve
            6 => length >= 16 || p2 is 63 or 67, // Discover, UnionPay, RuPay, Maestro, InterPayment
            8 => p2 is 81 or 82 && length == 16, // RuPay
            9 => p4 == 9792 && length == 16, // Troy
            _ => false,
        };
    }
}
