using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class PiiScannerPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(500);

    // Prose without digits or the trigger characters of any detector: whatever is found comes from the planted value.
    private static readonly Gen<string> Filler =
        Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz      ,.!?".ToCharArray()))
            .Select(chars => new string(chars).Trim());

    private static readonly (string Prefix, int Length)[] Issuers =
    [
        ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
        ("6011", 16), ("65", 16), ("644", 16), ("3528", 16), ("3589", 16), ("36", 14), ("300", 14), ("62", 16),
        ("62", 19), ("5018", 16), ("6759", 16), ("1", 15), ("2200", 16), ("9792", 16),
    ];

    private static readonly Gen<string> Digit = Gen.Elements("0123456789".Select(c => c.ToString()).ToArray());

    private static Gen<string> Chars(string alphabet, int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), n)).Select(a => new string(a));

    private static readonly Gen<string> CardNumber =
        Gen.Elements(Issuers).SelectMany(issuer =>
            Chars("0123456789", issuer.Length - issuer.Prefix.Length - 1, issuer.Length - issuer.Prefix.Length - 1)
                .Select(body => WithLuhnDigit(issuer.Prefix + body)));

    private static readonly Gen<string> FormattedCard =
        CardNumber.SelectMany(card => Gen.Elements("", " ", "-").Select(sep => card.Length == 16 && sep.Length > 0 ? string.Join(sep, card.Chunk(4).Select(c => new string(c))) : card));

    private static readonly Gen<string> Iban =
        Gen.Elements(IbanDetector.LengthByCountry.ToArray()).SelectMany(country =>
            Chars("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", country.Value - 4, country.Value - 4)
                .SelectMany(bban => Gen.Elements(false, true).Select(grouped =>
                {
                    var iban = country.Key + CheckDigits(country.Key, bban) + bban;
                    return grouped ? string.Join(' ', iban.Chunk(4).Select(c => new string(c))) : iban;
                })));

    // Dot-atom local part: segments of atext joined by single dots, starting with a letter or digit.
    private static readonly Gen<string> Email =
        from first in Chars("abcdefghijklmnopqrstuvwxyz0123456789", 1, 1)
        from segments in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Chars("abcdefghijklmnopqrstuvwxyz0123456789_%+-", 1, 8), n))
        from labels in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Chars("abcdefghijklmnopqrstuvwxyz0123456789", 1, 10), n))
        from tld in Chars("abcdefghijklmnopqrstuvwxyz", 2, 6)
        select $"{first}{string.Join('.', segments)}@{string.Join('.', labels)}.{tld}";

    // Pieces that exercise every detector and their neighbourhoods, for the structural properties.
    private static readonly Gen<string> Fragment = Gen.OneOf(
        Filler, FormattedCard, Iban, Email, Digit,
        Gen.Elements(
            "(212) 555-0199", "+44 20 7946 0958", "536-22-8726", "10.0.0.1", "2001:db8::1", "::ffff:10.1.2.3", "fe80::1%eth0/64",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM",
            "password=Tr0ub4dor&3x", "api_key: \"7fJq2LmZ9xVb4TnR\"", "https://u:Zq8v!Rt2pLx9@h.example", "AKIAGI3MNBQNSPUQ2IDW",
            "eyJhbGciOiAiUlMyNTYiLCAia2lkIjogImsxIn0.eyJzdWIiOiAiNDIiLCAic2NvcGUiOiAicmVhZCJ9.FnCttn6kfaqDeMqG3omjMyXHCabM6JOF8EFd0Nhcy-1",
            "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----",
            "[REDACTED:EMAIL_ADDRESS]", "[REDACTED:SECRET]", " ", "@", ":", "=", "-", ".", "/", "+", "(", ")", "\n", "\"", "'", "_"),
        Chars("0123456789 -.:/@=+()abcdefABCDEF_xX", 1, 12));

    private static readonly Gen<string> Mixed = Gen.ArrayOf(Fragment).Select(parts => string.Concat(parts));

    private static readonly Gen<string> AnyChars =
        Gen.ArrayOf(Gen.Frequency(
            (3, Gen.Choose(0, 0xFFFF).Select(i => (char)i)),
            (1, Gen.Choose(0xD800, 0xDFFF).Select(i => (char)i)),
            (1, Gen.Choose(0, 0x20).Select(i => (char)i)),
            (5, Gen.Elements("0123456789@:=.-/+ abcDEF_".ToCharArray())))).Select(a => new string(a));

    private static string WithLuhnDigit(string partial)
    {
        for (var d = '0'; d <= '9'; d++)
        {
            if (Checksums.IsLuhnValid(partial + d))
            {
                return partial + d;
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    // Independent of the production code: ISO 7064 over the whole number with BigInteger.
    private static string CheckDigits(string country, string bban)
    {
        var digits = string.Concat((bban + country + "00").Select(c => char.IsDigit(c) ? c.ToString() : (c - 'A' + 10).ToString()));
        var check = 98 - (int)(BigInteger.Parse(digits) % 97);
        return check.ToString("00");
    }

    private static bool FoundExactly(string text, PiiEntityType type, int start, int length) =>
        Matches(text).Any(m => m.Type == type && m.Start == start && m.Length == length);

    private static Gen<(string Before, string Value, string After)> Embedded(Gen<string> value) =>
        from before in Filler
        from v in value
        from after in Filler
        select (before + " ", v, " " + after);

    [Fact]
    public void Any_luhn_valid_card_of_a_real_issuer_is_found_with_exact_offsets() =>
        Check.One(Many, Prop.ForAll(Embedded(FormattedCard).ToArbitrary(), t =>
            FoundExactly(t.Before + t.Value + t.After, PiiEntityType.CreditCard, t.Before.Length, t.Value.Length)));

    [Fact]
    public void Changing_one_digit_of_a_card_stops_it_being_a_card()
    {
        var gen = from card in CardNumber
                  from position in Gen.Choose(0, card.Length - 1)
                  from delta in Gen.Choose(1, 9)
                  select card[..position] + (char)('0' + ((card[position] - '0' + delta) % 10)) + card[(position + 1)..];

        Check.One(Many, Prop.ForAll(gen.ToArbitrary(), mutated => Values($"card {mutated} ok", PiiEntityType.CreditCard).Length == 0));
    }

    [Fact]
    public void Any_generated_valid_iban_is_found_with_exact_offsets() =>
        Check.One(Many, Prop.ForAll(Embedded(Iban).ToArbitrary(), t =>
            FoundExactly(t.Before + t.Value + t.After, PiiEntityType.IbanCode, t.Before.Length, t.Value.Length)));

    [Fact]
    public void Changing_one_character_of_an_iban_stops_it_being_an_iban()
    {
        var gen = from iban in Iban
                  from position in Gen.Choose(2, iban.Length - 1)
                  where iban[position] != ' '
                  from delta in Gen.Choose(1, 9)
                  select iban[..position] + Substitute(iban[position], delta) + iban[(position + 1)..];

        Check.One(Many, Prop.ForAll(gen.ToArbitrary(), mutated => Values($"iban {mutated} ok", PiiEntityType.IbanCode).Length == 0));
    }

    private static char Substitute(char c, int delta) =>
        char.IsDigit(c) ? (char)('0' + ((c - '0' + delta) % 10)) : (char)('A' + ((c - 'A' + delta) % 26));

    [Fact]
    public void Any_generated_email_is_found_with_exact_offsets() =>
        Check.One(Many, Prop.ForAll(Embedded(Email).ToArbitrary(), t =>
            FoundExactly(t.Before + t.Value + t.After, PiiEntityType.EmailAddress, t.Before.Length, t.Value.Length)));

    [Fact]
    public void Matches_lie_within_the_text_ordered_and_without_overlap()
    {
        var gen = Gen.OneOf(Mixed, AnyChars);

        Check.One(Many, Prop.ForAll(gen.ToArbitrary(), text =>
        {
            var found = Matches(text);
            var previousEnd = 0;
            foreach (var m in found)
            {
                if (m.Start < previousEnd || m.Length <= 0 || m.End > text.Length || m.Score is <= 0 or > 1)
                {
                    return false;
                }

                previousEnd = m.End;
            }

            return true;
        }));
    }

    [Fact]
    public void Scanning_never_throws_on_arbitrary_text() =>
        Check.One(Many, Prop.ForAll(Gen.OneOf(AnyChars, Mixed, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "")).ToArbitrary(), text =>
        {
            Matches(text);
            All.Redact(text);
        }));

    [Fact]
    public void Redacted_text_contains_nothing_the_scanner_finds() =>
        Check.One(Many, Prop.ForAll(Mixed.ToArbitrary(), text => Matches(All.Redact(text)).Count == 0));

    [Fact]
    public void Redaction_is_idempotent() =>
        Check.One(Many, Prop.ForAll(Mixed.ToArbitrary(), text =>
        {
            var once = All.Redact(text);
            var found = Matches(once);
            return All.Redact(once) == once && PiiRedactor.Redact(once, found) == once;
        }));

    [Fact]
    public void Placeholders_are_never_detected()
    {
        var placeholders = PiiEntityTypeNames.SingleTypes.Select(PiiRedactor.DefaultPlaceholder).ToArray();
        var gen = Gen.ArrayOf(Gen.OneOf(Gen.Elements(placeholders), Gen.Elements(" ", "=", ": ", "password=", "\"key\": \"", "@", ".", "-", "\n")))
            .Select(parts => string.Concat(parts));

        Check.One(Many, Prop.ForAll(gen.ToArbitrary(), text => Matches(text).Count == 0));
    }
}
