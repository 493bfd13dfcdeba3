using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Finds encoded runs (base64, hex, percent-encoding, rot13, reversed text), decodes a bounded amount of each
/// and re-assesses the decoded text with decoding switched off, so work stays linear and nesting cannot recurse.
/// </summary>
internal static class InjectionPayloads
{
    /// <summary>Decode attempts allowed per assessed text.</summary>
    public const int DecodeBudget = 4;

    // English words are short; a whitespace-free stretch this long is a URL, a path, a hash or an encoding.
    private const int MinRun = 28;
    private const int MaxRunChars = 1024;
    private const int MaxWindow = 256;
    private const float ReportFloor = 0.25f;

    private static readonly SearchValues<char> Base64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_");
    private static readonly SearchValues<char> HexChars = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>Scans the source for long whitespace-free runs and decodes the plausible ones.</summary>
    public static void ScanEncodedRuns(scoped in InjectionScanContext c, ref InjectionEvidence ev)
    {
        var s = c.Source;
        var i = 0;
        while (i < s.Length && ev.DecodeBudget > 0)
        {
            var block = NextBlockWithoutWhitespace(s, i);
            if (block < 0)
            {
                return;
            }

            var before = s[i..block].LastIndexOfAnyInRange('\0', ' ');
            var runStart = i + before + 1;
            var after = s[block..].IndexOfAnyInRange('\0', ' ');
            var runEnd = after < 0 ? s.Length : block + after;
            if (runEnd - runStart >= MinRun)
            {
                TryDecodeRun(c, runStart, runEnd, ref ev);
            }

            i = runEnd;
        }
    }

    // Prose has whitespace every few characters, so a whitespace-free aligned block of 16 is rare and cheap to find;
    // every run of 31 or more characters contains one.
    private static int NextBlockWithoutWhitespace(ReadOnlySpan<char> s, int from)
    {
        const int Block = 16;
        var i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var r = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<char, ushort>(s));
            var space = Vector256.Create((ushort)' ');
            for (; i + Block <= s.Length; i += Block)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                if (!Vector256.LessThanOrEqualAny(v, space))
                {
                    return i;
                }
            }

            return -1;
        }

        for (; i + Block <= s.Length; i += Block)
        {
            if (s.Slice(i, Block).IndexOfAnyInRange('\0', ' ') < 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static void TryDecodeRun(scoped in InjectionScanContext c, int start, int end, ref InjectionEvidence ev)
    {
        var s = c.Source;
        // Trim wrapping punctuation such as quotes, brackets and a trailing full stop.
        while (start < end && !char.IsAsciiLetterOrDigit(s[start]) && s[start] != '\\' && s[start] != '%' && s[start] != '+' && s[start] != '/')
        {
            start++;
        }

        while (end > start && !char.IsAsciiLetterOrDigit(s[end - 1]) && s[end - 1] != '=')
        {
            end--;
        }

        if (end - start < MinRun)
        {
            return;
        }

        var run = s[start..Math.Min(end, start + MaxRunChars)];
        Span<byte> bytes = stackalloc byte[MaxRunChars];
        int length;
        if (run.Contains("\\x", StringComparison.Ordinal) || run.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            length = DecodeEscapedHex(run, bytes);
        }
        else if (run.Count('%') >= 4)
        {
            length = DecodePercent(run, bytes);
        }
        else if (!run.ContainsAnyExcept(HexChars))
        {
            length = (run.Length & 1) == 0 ? DecodeHex(run, bytes) : -1;
        }
        else if (!run.ContainsAnyExcept(Base64Chars))
        {
            length = DecodeBase64(run, bytes);
        }
        else
        {
            return;
        }

        if (length < 8 || !LooksLikeText(bytes[..length]))
        {
            return;
        }

        ev.DecodeBudget--;
        Span<char> text = stackalloc char[length];
        for (var k = 0; k < length; k++)
        {
            text[k] = bytes[k] < 0x80 ? (char)bytes[k] : ' ';
        }

        var decoded = c.Detector.AssessDecoded(text);
        if (decoded.Score >= ReportFloor)
        {
            ev.Add(InjectionSignalKind.EncodedPayload, (float)Math.Min(0.98, decoded.Score + 0.15), start, end, inSource: true, decoded.Categories);
        }
    }

    /// <summary>Decodes the line around a rot13 or reversed trigger word and re-assesses it.</summary>
    public static void DecodeAroundAnchor(scoped in InjectionScanContext c, InjectionRule rule, int pos, ref InjectionEvidence ev)
    {
        if (!c.AllowDecoding || ev.DecodeBudget <= 0)
        {
            return;
        }

        var s = c.Normalized;
        var windowStart = Math.Max(0, pos - MaxWindow);
        var lineStart = windowStart + s[windowStart..pos].LastIndexOfAny('\n', '\r') + 1;
        var windowEnd = Math.Min(s.Length, pos + MaxWindow);
        var lineEnd = s[pos..windowEnd].IndexOfAny('\n', '\r');
        lineEnd = lineEnd < 0 ? windowEnd : pos + lineEnd;

        var window = s[lineStart..lineEnd];
        Span<char> decoded = stackalloc char[window.Length];
        if (rule == InjectionRule.Rot13)
        {
            for (var k = 0; k < window.Length; k++)
            {
                var ch = window[k];
                decoded[k] = char.IsAsciiLetterLower(ch) ? (char)('a' + ((ch - 'a' + 13) % 26)) : ch;
            }
        }
        else
        {
            for (var k = 0; k < window.Length; k++)
            {
                decoded[k] = window[window.Length - 1 - k];
            }
        }

        ev.DecodeBudget--;
        var result = c.Detector.AssessDecoded(decoded);
        if (result.Score >= ReportFloor)
        {
            ev.Add(InjectionSignalKind.EncodedPayload, (float)Math.Min(0.98, result.Score + 0.15), lineStart, lineEnd, inSource: false, result.Categories);
        }
    }

    private static int DecodeBase64(ReadOnlySpan<char> run, Span<byte> bytes)
    {
        // Accept the URL-safe alphabet and missing padding; both are common when payloads are pasted around.
        Span<char> canonical = stackalloc char[run.Length + 3];
        var n = 0;
        foreach (var ch in run)
        {
            if (ch == '=')
            {
                break;
            }

            canonical[n++] = ch switch { '-' => '+', '_' => '/', _ => ch };
        }

        if (n % 4 == 1)
        {
            n--;
        }

        while (n % 4 != 0)
        {
            canonical[n++] = '=';
        }

        return Convert.TryFromBase64Chars(canonical[..n], bytes, out var written) ? written : -1;
    }

    private static int DecodeHex(ReadOnlySpan<char> run, Span<byte> bytes)
    {
        var n = 0;
        for (var k = 0; k + 1 < run.Length && n < bytes.Length; k += 2)
        {
            bytes[n++] = (byte)((HexValue(run[k]) << 4) | HexValue(run[k + 1]));
        }

        return n;
    }

    private static int DecodeEscapedHex(ReadOnlySpan<char> run, Span<byte> bytes)
    {
        var n = 0;
        var k = 0;
        while (k + 3 < run.Length && n < bytes.Length)
        {
            if (run[k] is '\\' or '0' && run[k + 1] is 'x' or 'X' && IsHex(run[k + 2]) && IsHex(run[k + 3]))
            {
                bytes[n++] = (byte)((HexValue(run[k + 2]) << 4) | HexValue(run[k + 3]));
                k += 4;
            }
            else
            {
                k++;
            }
        }

        return n;
    }

    private static int DecodePercent(ReadOnlySpan<char> run, Span<byte> bytes)
    {
        var n = 0;
        for (var k = 0; k < run.Length && n < bytes.Length; k++)
        {
            if (run[k] == '%' && k + 2 < run.Length && IsHex(run[k + 1]) && IsHex(run[k + 2]))
            {
                bytes[n++] = (byte)((HexValue(run[k + 1]) << 4) | HexValue(run[k + 2]));
                k += 2;
            }
            else
            {
                bytes[n++] = run[k] == '+' ? (byte)' ' : (byte)(run[k] & 0x7F);
            }
        }

        return n;
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        var printable = 0;
        var spaces = 0;
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\t' or (byte)'\r')
            {
                printable++;
            }

            if (b == (byte)' ')
            {
                spaces++;
            }
        }

        // Decoded prose has spaces; decoded hashes, keys and images do not.
        return printable * 10 >= bytes.Length * 9 && spaces > 0;
    }

    private static bool IsHex(char ch) => char.IsAsciiHexDigit(ch);

    private static int HexValue(char ch) => ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}
