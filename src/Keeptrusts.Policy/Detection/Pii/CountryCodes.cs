namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>ITU-T E.164 country calling codes. The set is prefix-free, so a number has at most one code.</summary>
internal static class CountryCodes
{
    private static readonly HashSet<int> TwoDigit =
    [
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
        60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];

    public static bool IsCountryCode(ReadOnlySpan<char> digits)
    {
        if (digits.IsEmpty || digits.Length > 3 || digits[0] == '0')
        {
            return false;
        }

        var value = int.Parse(digits);
        return digits.Length switch
        {
            1 => value is 1 or 7,
            2 => TwoDigit.Contains(value),
            _ => !TwoDigit.Contains(value / 10) && value / 100 is not (1 or 7) && IsThreeDigit(value),
        };
    }

    /// <summary>Length (1–3) of the country code at the start of <paramref name="digits"/>, or 0.</summary>
    public static int PrefixLength(ReadOnlySpan<char> digits)
    {
        for (var length = 1; length <= Math.Min(3, digits.Length); length++)
        {
            if (IsCountryCode(digits[..length]))
            {
                return length;
            }
        }

        return 0;
    }

    private static bool IsThreeDigit(int v) => v switch
    {
        211 or 212 or 213 or 216 or 218 => true,
        >= 220 and <= 269 => true,
        290 or 291 or 297 or 298 or 299 => true,
        >= 350 and <= 359 => true,
        >= 370 and <= 389 => true,
        420 or 421 or 423 => true,
        >= 500 and <= 509 => true,
        >= 590 and <= 599 => true,
        670 or (>= 672 and <= 692) => true,
        800 or 808 or 850 or 852 or 853 or 855 or 856 or 870 or 878 => true,
        >= 880 and <= 883 or 886 or 888 => true,
        >= 960 and <= 968 => true,
        >= 970 and <= 979 => true,
        >= 992 and <= 998 => true,
        _ => false,
    };
}
