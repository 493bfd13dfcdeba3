using System.Buffers;
using System.Text;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Folds text into the form the rules match against: lower-case ASCII where a look-alike exists, invisible
/// characters removed, typographic punctuation simplified and light leetspeak undone. The output is never
/// longer than the input. Offsets are mapped back by re-walking the source, which keeps the hot path free of
/// an index array: only the strongest signal ever needs mapping.
/// </summary>
internal static class InjectionTextNormalizer
{
    private const char Drop = '\uFFFF';

    // Diacritic folding for U+00C0..U+024F ('_' = no ASCII base letter). Generated from the NFKD decompositions.
    private const string LatinFold =
        "aaaaaa_ceeeeiiii_nooooo_ouuuuy_saaaaaa_ceeeeiiii_nooooo_ouuuuy_yaaaaaaccccccccdd" +
        "ddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkk_llllllllllnnnnnnn__oooooo__rrrrrrssssss" +
        "sstttt__uuuuuuuuuuuuwwyyyzzzzzzsb______________________i________oo_____________u" +
        "u____zz_____________dddlllnnnaaiioouuuuuuuuuu_aaaa____ggkkoooo__jdddgg__nnaa____" +
        "aaaaeeeeiiiioooorrrruuuusstt__hh______aaeeooooooooyy__________________ee____rr__";

    private static readonly SearchValues<char> LeetDigits = SearchValues.Create("0134578@$");

    /// <summary>Normalises <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">The text to fold.</param>
    /// <param name="destination">A buffer at least as long as <paramref name="source"/>.</param>
    /// <param name="identityMap">True when every output offset equals its source offset.</param>
    /// <returns>The number of characters written.</returns>
    public static int Normalize(ReadOnlySpan<char> source, Span<char> destination, out bool identityMap)
    {
        int written;
        if (Ascii.IsValid(source))
        {
            _ = Ascii.ToLower(source, destination, out written);
            identityMap = true;
        }
        else
        {
            written = 0;
            var i = 0;
            while (i < source.Length)
            {
                var run = source[i..].IndexOfAnyExceptInRange('\0', '\x7F');
                if (run < 0)
                {
                    run = source.Length - i;
                }

                if (run > 0)
                {
                    _ = Ascii.ToLower(source.Slice(i, run), destination[written..], out var w);
                    written += w;
                    i += run;
                    continue;
                }

                written += Fold(source, ref i, destination[written..]);
            }

            identityMap = false;
        }

        UndoLeetspeak(destination[..written]);
        return written;
    }

    /// <summary>Maps an offset in the normalised text back to the source offset of the character that produced it.</summary>
    public static int MapToSource(ReadOnlySpan<char> source, int normalizedIndex)
    {
        Span<char> scratch = stackalloc char[2];
        var produced = 0;
        var i = 0;
        while (i < source.Length)
        {
            var run = source[i..].IndexOfAnyExceptInRange('\0', '\x7F');
            if (run < 0)
            {
                run = source.Length - i;
            }

            if (run > 0)
            {
                if (normalizedIndex < produced + run)
                {
                    return i + (normalizedIndex - produced);
                }

                produced += run;
                i += run;
                continue;
            }

            var start = i;
            produced += Fold(source, ref i, scratch);
            if (normalizedIndex < produced)
            {
                return start;
            }
        }

        return source.Length;
    }

    /// <summary>Returns the length of the code point (1 or 2 UTF-16 units) that starts at <paramref name="index"/>.</summary>
    public static int CodePointLength(ReadOnlySpan<char> source, int index) =>
        index + 1 < source.Length && char.IsHighSurrogate(source[index]) && char.IsLowSurrogate(source[index + 1]) ? 2 : 1;

    // Consumes one code point at i and writes 0..2 chars.
    private static int Fold(ReadOnlySpan<char> source, ref int i, Span<char> destination)
    {
        var c = source[i];
        if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
        {
            var low = source[i + 1];
            i += 2;
            var mapped = FoldSupplementary(char.ConvertToUtf32(c, low));
            if (mapped == Drop)
            {
                return 0;
            }

            if (mapped != '\0')
            {
                destination[0] = mapped;
                return 1;
            }

            destination[0] = c;
            destination[1] = low;
            return 2;
        }

        i++;
        var folded = FoldBmp(c);
        if (folded == Drop)
        {
            return 0;
        }

        destination[0] = folded;
        return 1;
    }

    private static char FoldBmp(char c)
    {
        if (c < 0x80)
        {
            return char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
        }

        if (c is >= '\u00C0' and <= '\u024F')
        {
            var f = LatinFold[c - 0xC0];
            return f == '_' ? char.ToLowerInvariant(c) : f;
        }

        switch (c)
        {
            // Invisible formatting characters are the cheapest way to split a trigger word.
            case '\u00AD' or '\u034F' or '\u061C' or '\u115F' or '\u1160' or '\u17B4' or '\u17B5' or '\u3164' or '\uFEFF' or '\uFFA0':
            case >= '\u180B' and <= '\u180F':
            case >= '\u200B' and <= '\u200F':
            case >= '\u202A' and <= '\u202E':
            case >= '\u2060' and <= '\u206F':
            case >= '\uFE00' and <= '\uFE0F':
                return Drop;
            case '\u00A0' or '\u1680' or '\u202F' or '\u205F' or '\u3000':
            case >= '\u2000' and <= '\u200A':
                return ' ';
            case '\u2028' or '\u2029' or '\u0085':
                return '\n';
            case '\u2018' or '\u2019' or '\u201A' or '\u201B' or '\u2032' or '\u02BC' or '\u02B9' or '\u00B4' or '\u0060':
                return '\'';
            case '\u201C' or '\u201D' or '\u201E' or '\u201F' or '\u2033' or '\u00AB' or '\u00BB':
                return '"';
            case >= '\u2010' and <= '\u2015':
            case '\u2212':
                return '-';
            case >= '\uFF01' and <= '\uFF5E':
                var ascii = (char)(c - 0xFEE0);
                return char.IsAsciiLetterUpper(ascii) ? (char)(ascii | 0x20) : ascii;
            case >= '\u24B6' and <= '\u24CF':
                return (char)('a' + (c - '\u24B6'));
            case >= '\u24D0' and <= '\u24E9':
                return (char)('a' + (c - '\u24D0'));
            default:
                break;
        }

        var lower = char.ToLowerInvariant(c);
        return lower switch
        {
            // Cyrillic and Greek letters that render like Latin ones.
            '\u0430' or '\u03B1' or '\u1D00' => 'a',
            '\u0432' or '\u03B2' or '\u0299' => 'b',
            '\u0441' or '\u03F2' or '\u1D04' => 'c',
            '\u0501' or '\u1D05' => 'd',
            '\u0435' or '\u0451' or '\u03B5' or '\u1D07' => 'e',
            '\u0261' or '\u0262' => 'g',
            '\u04BB' or '\u029C' or '\u043D' => 'h',
            '\u0456' or '\u0457' or '\u03B9' or '\u026A' => 'i',
            '\u0458' or '\u03F3' or '\u1D0A' => 'j',
            '\u03BA' or '\u043A' or '\u1D0B' => 'k',
            '\u04CF' or '\u029F' => 'l',
            '\u043C' or '\u1D0D' => 'm',
            '\u03B7' or '\u0274' or '\u043F' => 'n',
            '\u043E' or '\u03BF' or '\u1D0F' => 'o',
            '\u0440' or '\u03C1' or '\u1D18' => 'p',
            '\u051B' => 'q',
            '\u0433' or '\u0280' => 'r',
            '\u0455' or '\uA731' => 's',
            '\u0442' or '\u03C4' or '\u1D1B' => 't',
            '\u03C5' or '\u1D1C' => 'u',
            '\u03BD' or '\u0475' or '\u1D20' => 'v',
            '\u051D' or '\u1D21' or '\u03C9' => 'w',
            '\u0445' or '\u03C7' => 'x',
            '\u0443' or '\u04AF' or '\u028F' or '\u03B3' => 'y',
            '\u1D22' => 'z',
            _ => lower,
        };
    }

    // Returns Drop, '\0' (keep the pair) or the folded ASCII letter/digit.
    private static char FoldSupplementary(int cp)
    {
        switch (cp)
        {
            case >= 0x1D400 and <= 0x1D6A3:
                // Mathematical alphanumerics repeat A-Z, a-z in 52-letter blocks (bold, italic, script, ...).
                var idx = (cp - 0x1D400) % 52;
                return (char)('a' + (idx < 26 ? idx : idx - 26));
            case >= 0x1D7CE and <= 0x1D7FF:
                return (char)('0' + ((cp - 0x1D7CE) % 10));
            case >= 0xE0020 and <= 0xE007E:
                // Unicode tag characters mirror ASCII invisibly ("ASCII smuggling"); decode them.
                var tag = (char)(cp - 0xE0000);
                return char.IsAsciiLetterUpper(tag) ? (char)(tag | 0x20) : tag;
            case >= 0xE0000 and <= 0xE007F:
            case >= 0xE0100 and <= 0xE01EF:
                return Drop;
            case >= 0x1F130 and <= 0x1F149:
                return (char)('a' + (cp - 0x1F130));
            case >= 0x1F150 and <= 0x1F169:
                return (char)('a' + (cp - 0x1F150));
            case >= 0x1F170 and <= 0x1F189:
                return (char)('a' + (cp - 0x1F170));
            case >= 0x1F1E6 and <= 0x1F1FF:
                return (char)('a' + (cp - 0x1F1E6));
            default:
                return '\0';
        }
    }

    // A leet digit inside a word ("1gn0r3", "pr3v10us") becomes the letter it imitates; numbers stay numbers
    // because a digit is only rewritten next to a letter.
    private static void UndoLeetspeak(Span<char> text)
    {
        var from = 0;
        while (from < text.Length)
        {
            var k = text[from..].IndexOfAny(LeetDigits);
            if (k < 0)
            {
                return;
            }

            var p = from + k;
            var prevLetter = p > 0 && char.IsAsciiLetterLower(text[p - 1]);
            var nextLetter = p + 1 < text.Length && char.IsAsciiLetterLower(text[p + 1]);
            if (prevLetter || nextLetter)
            {
                text[p] = text[p] switch
                {
                    '0' => 'o',
                    '1' => 'i',
                    '3' => 'e',
                    '4' or '@' => 'a',
                    '5' or '$' => 's',
                    '7' => 't',
                    '8' => 'b',
                    _ => text[p],
                };
            }

            from = p + 1;
        }
    }
}
