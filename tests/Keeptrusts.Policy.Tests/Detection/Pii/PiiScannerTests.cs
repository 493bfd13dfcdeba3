using System.Diagnostics;
using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class PiiScannerTests
{
    private const string Dirty = "Mail jane@example.org, card 4111 1111 1111 1111, from 10.0.0.1 with ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM.";

    [Fact]
    public void Reports_each_kind_in_order()
    {
        var found = Matches(Dirty);

        Assert.Equal(
            [PiiEntityType.EmailAddress, PiiEntityType.CreditCard, PiiEntityType.IpAddress, PiiEntityType.Secret],
            found.Select(m => m.Type));
    }

    [Fact]
    public void Only_selected_entities_are_reported()
    {
        var scanner = new PiiScanner(new PiiScannerOptions { Entities = PiiEntityType.CreditCard | PiiEntityType.IpAddress });

        var found = Matches(Dirty, scanner);

        Assert.Equal([PiiEntityType.CreditCard, PiiEntityType.IpAddress], found.Select(m => m.Type));
    }

    [Fact]
    public void Allow_list_values_and_patterns_are_never_reported()
    {
        var scanner = new PiiScanner(new PiiScannerOptions
        {
            AllowList = ["JANE@example.org"],
            AllowPatterns = [@"10\.\d+\.\d+\.\d+"],
        });

        var found = Matches(Dirty, scanner);

        Assert.Equal([PiiEntityType.CreditCard, PiiEntityType.Secret], found.Select(m => m.Type));
    }

    [Fact]
    public void Invalid_options_are_reported_together()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PiiScanner(new PiiScannerOptions
        {
            AllowList = [""],
            AllowPatterns = ["(unclosed", "[z-a]"],
        }));

        Assert.Contains("AllowList[0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowPatterns[0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowPatterns[1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Existing_results_are_kept_and_new_ones_appended()
    {
        var existing = new PiiMatch(PiiEntityType.Crypto, 0, 1, 1);
        var results = new List<PiiMatch> { existing };

        All.Scan(Dirty, results);

        Assert.Equal(existing, results[0]);
        Assert.Equal(5, results.Count);
    }

    [Fact]
    public void Longer_overlapping_candidate_wins()
    {
        // The mapped IPv6 address contains an IPv4 address; the e-mail local part contains a card number.
        Assert.Equal(["::ffff:10.1.2.3"], Values("at ::ffff:10.1.2.3 now", PiiEntityType.IpAddress));
        Assert.Equal([PiiEntityType.EmailAddress], Matches("x 4111111111111111@example.com").Select(m => m.Type));
    }

    [Fact]
    public void Empty_text_finds_nothing() => Assert.Empty(Matches(""));

    [Fact]
    public void Redact_replaces_matches_with_canonical_placeholders()
    {
        var redacted = All.Redact(Dirty);

        Assert.Equal("Mail [REDACTED:EMAIL_ADDRESS], card [REDACTED:CREDIT_CARD], from [REDACTED:IP_ADDRESS] with [REDACTED:SECRET].", redacted);
    }

    [Fact]
    public void Redact_uses_a_custom_placeholder()
    {
        var redacted = PiiRedactor.Redact(Dirty, Matches(Dirty), static t => $"<{PiiEntityTypeNames.ToCanonicalName(t).ToLowerInvariant()}>");

        Assert.StartsWith("Mail <email_address>, card <credit_card>", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_rejects_matches_outside_the_text() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PiiRedactor.Redact("short", [new PiiMatch(PiiEntityType.Secret, 3, 10, 1)]));

    // Inputs built to make a backtracking matcher explode; a linear scanner handles 32 KB of each quickly.
    [Theory]
    [InlineData("0123456789")]
    [InlineData("a@")]
    [InlineData("1.")]
    [InlineData("1 ")]
    [InlineData("a:")]
    [InlineData("ab::")]
    [InlineData("x=")]
    [InlineData("Zq8v+Rt2/pLx9")]
    [InlineData("eyJ.")]
    [InlineData("-----BEGIN PRIVATE KEY-----")]
    [InlineData("DE89 ")]
    [InlineData("+1 (")]
    public void Adversarial_input_gives_ordered_non_overlapping_matches_within_the_text(string unit)
    {
        // How cost grows with size is measured by PiiAdversarialBenchmarks (bench/), not asserted with timers here.
        var text = string.Concat(Enumerable.Repeat(unit, (32 * 1024 / unit.Length) + 1));
        var results = new List<PiiMatch>();

        All.Scan(text, results);

        var previousEnd = 0;
        foreach (var match in results)
        {
            Assert.InRange(match.Start, previousEnd, text.Length);
            Assert.InRange(match.End, match.Start + 1, text.Length);
            previousEnd = match.End;
        }
    }

    private static string BenchText(int length)
    {
        const string Sentence = "The quarterly report shows that our team shipped the new onboarding flow on time, and customer feedback has been positive overall. Please summarise the key points in 3 bullet points: growth, retention and the well-known risks. ";
        var builder = new System.Text.StringBuilder();
        while (builder.Length < length)
        {
            builder.Append(Sentence);
        }

        return builder.ToString(0, length);
    }
}
