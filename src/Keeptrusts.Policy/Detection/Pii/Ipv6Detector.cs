using System.Net;
using System.Net.Sockets;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// IPv6 addresses, found from their colons: the hex-and-colon run around each colon is cut at word
/// boundaries and validated with <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/>.
/// A zone (<c>%eth0</c>) and a valid prefix length (<c>/64</c>) belong to the match. IPv4 is found by
/// <see cref="NumberDetector"/>.
/// </summary>
internal static class Ipv6Detector
{
    // The longest textual IPv6 address: eight groups with an IPv4 tail.
    private const int MaxAddress = 45;

    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOf(':');
            if (next < 0)
            {
                return;
            }

            i = TryAt(text, i, i + next, results);
        }
    }

    private static bool IsAddressChar(char c) => CharText.IsHex(c) || c is ':' or '.';

    // Returns where to resume; never goes back before `floor` so every character is examined a bounded number of times.
    private static int TryAt(ReadOnlySpan<char> text, int floor, int colon, List<PiiMatch> results)
    {
        var start = colon;
        while (start > floor && colon - start < MaxAddress && (CharText.IsHex(text[start - 1]) || text[start - 1] == ':'))
        {
            start--;
        }

        var end = colon;
        while (end < text.Length && end - start <= MaxAddress && IsAddressChar(text[end]))
        {
            end++;
        }

        var resume = end;
        if (end - start > MaxAddress || colon - start >= MaxAddress)
        {
            while (resume < text.Length && IsAddressChar(text[resume]))
            {
                resume++;
            }

            return resume;
        }

        // Sentence punctuation after an address: "… at 2001:db8::1." or "…::1: done".
        while (end > start)
        {
            var last = text[end - 1];
            if (last == '.' || (last == ':' && (end - 2 < start || text[end - 2] != ':')))
            {
                end--;
                continue;
            }

            break;
        }

        var before = CharText.At(text, start - 1);
        if (end - start < 3 || CharText.IsWordChar(before) || before == '.' || CharText.IsWordCharAt(text, end)
            || !text[start..end].ContainsAnyInRange('0', '9'))
        {
            return Math.Max(resume, colon + 1);
        }

        if (!IPAddress.TryParse(text[start..end], out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return Math.Max(resume, colon + 1);
        }

        if (CharText.At(text, end) == '%')
        {
            var zoneEnd = end + 1;
            while (zoneEnd < text.Length && zoneEnd - end <= 16 && (char.IsAsciiLetterOrDigit(text[zoneEnd]) || text[zoneEnd] is '_' or '-'))
            {
                zoneEnd++;
            }

            if (zoneEnd > end + 1)
            {
                end = zoneEnd;
            }
        }

        end += NumberDetector.PrefixLength(text, end, 128);
        results.Add(new PiiMatch(PiiEntityType.IpAddress, start, end - start, 0.95));
        return Math.Max(end, colon + 1);
    }
}
