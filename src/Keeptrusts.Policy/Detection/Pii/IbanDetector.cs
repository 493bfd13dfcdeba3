using System.Collections.Frozen;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// IBANs: a registry country code, two check digits and a BBAN of the country's fixed length, written
/// compact or in space-separated groups of four, and valid under mod 97.
/// </summary>
internal static class IbanDetector
{
    /// <summary>Total IBAN length per country, from the SWIFT IBAN registry.</summary>
    public static FrozenDictionary<string, int> LengthByCountry { get; } = new Dictionary<string, int>
    {
        ["AD"] = 24, ["AE"] = 23, ["AL"] = 28, ["AT"] = 20, ["AZ"] = 28, ["BA"] = 20, ["BE"] = 16, ["BG"] = 22,
        ["BH"] = 22, ["BI"] = 27, ["BR"] = 29, ["BY"] = 28, ["CH"] = 21, ["CR"] = 22, ["CY"] = 28, ["CZ"] = 24,
        ["DE"] = 22, ["DJ"] = 27, ["DK"] = 18, ["DO"] = 28, ["EE"] = 20, ["EG"] = 29, ["ES"] = 24, ["FI"] = 18,
        ["FK"] = 18, ["FO"] = 18, ["FR"] = 27, ["GB"] = 22, ["GE"] = 22, ["GI"] = 23, ["GL"] = 18, ["GR"] = 27,
        ["GT"] = 28, ["HN"] = 28, ["HR"] = 21, ["HU"] = 28, ["IE"] = 22, ["IL"] = 23, ["IQ"] = 23, ["IS"] = 26,
        ["IT"] = 27, ["JO"] = 30, ["KW"] = 30, ["KZ"] = 20, ["LB"] = 28, ["LC"] = 32, ["LI"] = 21, ["LT"] = 20,
        ["LU"] = 20, ["LV"] = 21, ["LY"] = 25, ["MC"] = 27, ["MD"] = 24, ["ME"] = 22, ["MK"] = 19, ["MN"] = 20,
        ["MR"] = 27, ["MT"] = 31, ["MU"] = 30, ["NI"] = 28, ["NL"] = 18, ["NO"] = 15, ["OM"] = 23, ["PK"] = 24,
        ["PL"] = 28, ["PS"] = 29, ["PT"] = 25, ["QA"] = 29, ["RO"] = 24, ["RS"] = 22, ["RU"] = 33, ["SA"] = 24,
        ["SC"] = 31, ["SD"] = 18, ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["SO"] = 23, ["ST"] = 25,
        ["SV"] = 28, ["TL"] = 23, ["TN"] = 24, ["TR"] = 26, ["UA"] = 29, ["VA"] = 22, ["VG"] = 24, ["XK"] = 20,
        ["YE"] = 30,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> LengthLookup =
        LengthByCountry.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Tries to read an IBAN whose check digits start at <paramref name="checkDigitsAt"/> (the country code is the
    /// two characters before). Returns the length of the IBAN as written, or 0.
    /// </summary>
    public static int TryMatch(ReadOnlySpan<char> text, int checkDigitsAt)
    {
        var start = checkDigitsAt - 2;
        if (start < 0 || CharText.IsWordCharAt(text, start - 1)
            || !char.IsAsciiLetterUpper(text[start]) || !char.IsAsciiLetterUpper(text[start + 1])
            || !CharText.IsDigit(CharText.At(text, checkDigitsAt + 1))
            || !LengthLookup.TryGetValue(text.Slice(start, 2), out var ibanLength))
        {
            return 0;
        }

        var end = ReadCompact(text, start, ibanLength);
        if (end < 0)
        {
            end = ReadGrouped(text, start, ibanLength);
        }

        if (end < 0 || CharText.IsWordCharAt(text, end))
        {
            return 0;
        }

        return Checksums.IsIbanChecksumValid(text[start..end]) ? end - start : 0;
    }

    private static bool IsBbanChar(char c) => char.IsAsciiLetterUpper(c) || CharText.IsDigit(c);

    private static int ReadCompact(ReadOnlySpan<char> text, int start, int ibanLength)
    {
        var end = start + ibanLength;
        if (end > text.Length)
        {
            return -1;
        }

        for (var i = start + 4; i < end; i++)
        {
            if (!IsBbanChar(text[i]))
            {
                return -1;
            }
        }

        return end;
    }

    // Printed IBANs group by four from the left with single spaces; the last group holds the remainder.
    private static int ReadGrouped(ReadOnlySpan<char> text, int start, int ibanLength)
    {
        var i = start + 4;
        var read = 4;
        while (read < ibanLength)
        {
            if (CharText.At(text, i) != ' ')
            {
                return -1;
            }

            i++;
            var group = Math.Min(4, ibanLength - read);
            if (i + group > text.Length)
            {
                return -1;
            }

            for (var k = 0; k < group; k++)
            {
                if (!IsBbanChar(text[i + k]))
                {
                    return -1;
                }
            }

            i += group;
            read += group;
        }

        return i;
    }
}
