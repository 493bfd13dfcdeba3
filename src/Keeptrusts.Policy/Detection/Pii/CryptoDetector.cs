namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Bitcoin addresses: legacy Base58Check (P2PKH <c>1…</c>, P2SH <c>3…</c>) and segwit Bech32/Bech32m (<c>bc1…</c>), checksums verified.</summary>
internal static class CryptoDetector
{
    private const int MaxBech32 = 90;

    /// <summary>Checks for an address around the digit at <paramref name="p"/>; on success adds it and returns its end, otherwise 0.</summary>
    public static int TryMatch(ReadOnlySpan<char> text, int p, List<PiiMatch> results)
    {
        var length = MatchLength(text, p, out var start);
        if (length == 0)
        {
            return 0;
        }

        results.Add(new PiiMatch(PiiEntityType.Crypto, start, length, 1.0));
        return start + length;
    }

    /// <summary>Length of a valid address whose first digit is at <paramref name="p"/> (the <c>1</c> of <c>bc1</c> for segwit), or 0.</summary>
    public static int MatchLength(ReadOnlySpan<char> text, int p, out int start)
    {
        start = p;
        var c = text[p];
        if (c == '1' && p >= 2 && (text.Slice(p - 2, 2) is "bc" or "BC") && !CharText.IsWordCharAt(text, p - 3))
        {
            var end = AlnumRunEnd(text, p - 2, MaxBech32 + 1);
            if (end - (p - 2) <= MaxBech32 && Checksums.IsBech32Address(text[(p - 2)..end]))
            {
                start = p - 2;
                return end - start;
            }

            return 0;
        }

        if (c is '1' or '3' && !CharText.IsWordCharAt(text, p - 1))
        {
            var end = AlnumRunEnd(text, p, 36);
            if (end - p is >= 25 and <= 35 && !CharText.IsWordCharAt(text, end) && Checksums.IsBase58CheckAddress(text[p..end]))
            {
                return end - p;
            }
        }

        return 0;
    }

    private static int AlnumRunEnd(ReadOnlySpan<char> text, int from, int limit)
    {
        var end = from;
        while (end < text.Length && end - from < limit && char.IsAsciiLetterOrDigit(text[end]))
        {
            end++;
        }

        return end;
    }
}
