using System.Security.Cryptography;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>The check-digit algorithms that turn "looks like" into "is": Luhn, ISO 7064 mod 97-10, Base58Check and Bech32.</summary>
internal static class Checksums
{
    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private const string Bech32Alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private const uint Bech32Constant = 1;
    private const uint Bech32mConstant = 0x2bc830a3;

    /// <summary>Luhn over the digits of <paramref name="text"/>, skipping anything that is not a digit (group separators).</summary>
    public static bool IsLuhnValid(ReadOnlySpan<char> text)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = text.Length - 1; i >= 0; i--)
        {
            var c = text[i];
            if (!CharText.IsDigit(c))
            {
                continue;
            }

            var d = c - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    /// <summary>
    /// ISO 13616 check: the IBAN rotated by four characters, letters expanded to 10..35, is 1 mod 97.
    /// Spaces are skipped; any other non-alphanumeric character fails.
    /// </summary>
    public static bool IsIbanChecksumValid(ReadOnlySpan<char> iban)
    {
        Span<char> compact = stackalloc char[34];
        var length = 0;
        foreach (var c in iban)
        {
            if (c == ' ')
            {
                continue;
            }

            if (length == compact.Length || !char.IsAsciiLetterUpper(c) && !CharText.IsDigit(c))
            {
                return false;
            }

            compact[length++] = c;
        }

        if (length < 5)
        {
            return false;
        }

        var remainder = 0;
        for (var k = 0; k < length; k++)
        {
            var c = compact[(k + 4) % length];
            remainder = CharText.IsDigit(c)
                ? ((remainder * 10) + (c - '0')) % 97
                : ((remainder * 100) + (c - 'A' + 10)) % 97;
        }

        return remainder == 1;
    }

    /// <summary>Two ISO 7064 check digits for a BBAN and country, as used to build a valid IBAN.</summary>
    public static int IbanCheckDigits(ReadOnlySpan<char> countryCode, ReadOnlySpan<char> bban)
    {
        var remainder = 0;
        static int Feed(int r, char c) => CharText.IsDigit(c) ? ((r * 10) + (c - '0')) % 97 : ((r * 100) + (char.ToUpperInvariant(c) - 'A' + 10)) % 97;
        foreach (var c in bban)
        {
            remainder = Feed(remainder, c);
        }

        remainder = Feed(remainder, countryCode[0]);
        remainder = Feed(remainder, countryCode[1]);
        remainder = Feed(remainder, '0');
        remainder = Feed(remainder, '0');
        return 98 - remainder;
    }

    /// <summary>
    /// Legacy Bitcoin address (P2PKH version 0, P2SH version 5): Base58 decodes to exactly 25 bytes whose
    /// last four are the first four bytes of SHA-256(SHA-256(first 21)).
    /// </summary>
    public static bool IsBase58CheckAddress(ReadOnlySpan<char> address)
    {
        if (address.Length is < 25 or > 35)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[25];
        decoded.Clear();
        var leadingOnes = 0;
        var inLeadingOnes = true;
        foreach (var c in address)
        {
            var digit = c < 128 ? Base58Alphabet.IndexOf(c) : -1;
            if (digit < 0)
            {
                return false;
            }

            if (inLeadingOnes && digit == 0)
            {
                leadingOnes++;
            }
            else
            {
                inLeadingOnes = false;
            }

            var carry = digit;
            for (var i = decoded.Length - 1; i >= 0; i--)
            {
                carry += decoded[i] * 58;
                decoded[i] = (byte)carry;
                carry >>= 8;
            }

            if (carry != 0)
            {
                return false;
            }
        }

        var leadingZeroBytes = 0;
        while (leadingZeroBytes < decoded.Length && decoded[leadingZeroBytes] == 0)
        {
            leadingZeroBytes++;
        }

        // Base58 spells each leading zero byte as one '1'; any other count means a different payload length.
        var versionIsZero = decoded[0] == 0;
        if (versionIsZero ? leadingZeroBytes != leadingOnes : leadingOnes != 0)
        {
            return false;
        }

        if (decoded[0] is not (0x00 or 0x05))
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(decoded[..21], hash);
        SHA256.HashData(hash, hash);
        return hash[..4].SequenceEqual(decoded[21..]);
    }

    /// <summary>Segwit address with human-readable part <c>bc</c>: Bech32 for witness version 0, Bech32m for 1..16.</summary>
    public static bool IsBech32Address(ReadOnlySpan<char> address)
    {
        if (address.Length is < 14 or > 74)
        {
            return false;
        }

        var isUpper = char.IsAsciiLetterUpper(address[0]);
        if (!(isUpper ? address.StartsWith("BC1") : address.StartsWith("bc1")))
        {
            return false;
        }

        var data = address[3..];
        if (data.Length < 7)
        {
            return false;
        }

        uint checksum = 1;
        checksum = Bech32Step(checksum, 'b' >> 5);
        checksum = Bech32Step(checksum, 'c' >> 5);
        checksum = Bech32Step(checksum, 0);
        checksum = Bech32Step(checksum, 'b' & 31);
        checksum = Bech32Step(checksum, 'c' & 31);
        var witnessVersion = -1;
        foreach (var raw in data)
        {
            if (raw >= 128 || (isUpper ? char.IsAsciiLetterLower(raw) : char.IsAsciiLetterUpper(raw)))
            {
                return false;
            }

            var value = Bech32Alphabet.IndexOf(char.ToLowerInvariant(raw));
            if (value < 0)
            {
                return false;
            }

            if (witnessVersion < 0)
            {
                witnessVersion = value;
            }

            checksum = Bech32Step(checksum, (uint)value);
        }

        return witnessVersion switch
        {
            0 => checksum == Bech32Constant,
            >= 1 and <= 16 => checksum == Bech32mConstant,
            _ => false,
        };
    }

    private static uint Bech32Step(uint checksum, uint value)
    {
        var top = checksum >> 25;
        checksum = ((checksum & 0x1ffffff) << 5) ^ value;
        if ((top & 1) != 0) checksum ^= 0x3b6a57b2;
        if ((top & 2) != 0) checksum ^= 0x26508e6d;
        if ((top & 4) != 0) checksum ^= 0x1ea119fa;
        if ((top & 8) != 0) checksum ^= 0x3d4233dd;
        if ((top & 16) != 0) checksum ^= 0x2a1462b3;
        return checksum;
    }
}
