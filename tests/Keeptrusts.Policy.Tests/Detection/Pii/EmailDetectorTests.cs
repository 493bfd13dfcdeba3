using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class EmailDetectorTests
{
    [Theory]
    [InlineData("write to jane.doe@example.org today", "jane.doe@example.org")]
    [InlineData("Contact: <ops+alerts@mail.corp.example.co.uk>.", "ops+alerts@mail.corp.example.co.uk")]
    [InlineData("(first_last-1@sub-domain.example.io)", "first_last-1@sub-domain.example.io")]
    [InlineData("punycode: anna@xn--mnchen-3ya.xn--p1ai ok", "anna@xn--mnchen-3ya.xn--p1ai")]
    [InlineData("unicode: jürgen@müller.de", "jürgen@müller.de")]
    [InlineData("mailto:help@keeptrusts.example.com", "help@keeptrusts.example.com")]
    [InlineData("ends a sentence: a.b@c.example.", "a.b@c.example")]
    [InlineData("...someone@example.net", "someone@example.net")]
    public void Finds_addresses(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.EmailAddress));

    [Theory]
    [InlineData("not an email: hello-world here")]
    [InlineData("decorator @property and @staticmethod")]
    [InlineData("user@localhost has no domain")]
    [InlineData("numeric tld user@host.123")]
    [InlineData("double dot john..doe@example.com")]
    [InlineData("trailing dot john.@example.com")]
    [InlineData("two ats a@b@example.com")]
    [InlineData("price is 5@3.50 each")]
    [InlineData("https://admin:s3cr3tPass@db.example.com/x")]
    [InlineData("handle @someone on social")]
    public void Rejects_non_addresses(string text) => Assert.Empty(Values(text, PiiEntityType.EmailAddress));

    [Fact]
    public void Finds_every_address_in_a_list_with_exact_offsets()
    {
        var text = "cc: a@example.com, b.c@example.org; d@x.example.net";
        var found = Matches(text).Where(m => m.Type == PiiEntityType.EmailAddress).ToList();

        Assert.Equal([(4, 13), (19, 15), (36, 15)], found.Select(m => (m.Start, m.Length)));
    }
}
