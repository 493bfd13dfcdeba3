namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// US social security numbers: AAA-GG-SSSS with one consistent separator (dash, space or dot); nine bare
/// digits only next to words such as "SSN". Numbers the SSA never issues are rejected.
/// </summary>
internal static class SsnRules
{
    private static readonly string[] ContextWords = ["ssn", "social security", "social sec", "ss#", "ss #", "ssa number", "taxpayer"];

    // Published in advertising or wallet inserts and never valid for a person.
    private static readonly string[] KnownInvalid = ["078051120", "219099999", "123456789", "457555462"];

    public static void Find(in DigitCluster c, List<PiiMatch> results)
    {
        Span<char> digits = stackalloc char[9];
        for (var a = 0; a < c.Count; a++)
        {
            if (a == 0 && c.Prefix == '+')
            {
                continue;
            }

            if (a + 2 < c.Count && c.Groups[a].Length == 3 && c.Groups[a + 1].Length == 2 && c.Groups[a + 2].Length == 4)
            {
                var inner = c.UniformJoiner(a, a + 2);
                var spaced = inner == Joiner.Space;
                if (inner is Joiner.Dash or Joiner.Space or Joiner.Dot && c.StandsAlone(a, a + 2, inner.Value)
                    && !(spaced && (c.Before(a) == Joiner.Space || (a + 2 < c.Count - 1 && c.After(a + 2) == Joiner.Space))))
                {
                    c.Digits(a).CopyTo(digits);
                    c.Digits(a + 1).CopyTo(digits[3..]);
                    c.Digits(a + 2).CopyTo(digits[5..]);
                    if (IsIssuable(digits))
                    {
                        var start = c.StartOf(a);
                        results.Add(new PiiMatch(PiiEntityType.UsSsn, start, c.EndOf(a + 2) - start, inner == Joiner.Dash ? 0.85 : 0.7));
                        a += 2;
                        continue;
                    }
                }
            }

            if (c.Groups[a].Length == 9 && c.StandsAlone(a, a, Joiner.None) && IsIssuable(c.Digits(a))
                && CharText.HasContextBefore(c.Text, c.StartOf(a), 48, ContextWords))
            {
                results.Add(new PiiMatch(PiiEntityType.UsSsn, c.StartOf(a), 9, 0.6));
            }
        }
    }

    /// <summary>Area 000, 666 and 900–999, group 00, serial 0000, repeated digits and published numbers are never issued.</summary>
    public static bool IsIssuable(ReadOnlySpan<char> nineDigits)
    {
        var area = nineDigits[..3];
        var group = nineDigits.Slice(3, 2);
        var serial = nineDigits[5..];
        if (area is "000" or "666" || area[0] == '9' || group is "00" || serial is "0000")
        {
            return false;
        }

        if (!nineDigits.ContainsAnyExcept(nineDigits[0]))
        {
            return false;
        }

        foreach (var invalid in KnownInvalid)
        {
            if (nineDigits.SequenceEqual(invalid))
            {
                return false;
            }
        }

        return true;
    }
}
