using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class IbanDetectorTests
{
    [Theory]
    [InlineData("pay GB82WEST12345698765432 now", "GB82WEST12345698765432")]
    [InlineData("pay GB82 WEST 1234 5698 7654 32.", "GB82 WEST 1234 5698 7654 32")]
    [InlineData("FR1420041010050500013M02606", "FR1420041010050500013M02606")]
    [InlineData("IBAN: NL91 ABNA 0417 1643 00", "NL91 ABNA 0417 1643 00")]
    [InlineData("CH9300762011623852957", "CH9300762011623852957")]
    [InlineData("(ES91 2100 0418 4502 0005 1332)", "ES91 2100 0418 4502 0005 1332")]
    [InlineData("DE46100500001234567890", "DE46100500001234567890")]
    [InlineData("IT60X0542811101000000123456", "IT60X0542811101000000123456")]
    [InlineData("NO71 1234 5678 903", "NO71 1234 5678 903")]
    [InlineData("TR330006100519786457841326", "TR330006100519786457841326")]
    [InlineData("NL91 ABNA 0417 1643 00 12 items", "NL91 ABNA 0417 1643 00")]
    public void Finds_ibans(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.IbanCode));

    [Theory]
    [InlineData("GB82WEST12345698765433")]
    [InlineData("GB82 WEST 1234 5698 7654 33")]
    [InlineData("GB82WEST1234569876543")]
    [InlineData("GB82WEST123456987654321")]
    [InlineData("GB82 WEST 123 45698 7654 32")]
    [InlineData("ZZ82WEST12345698765432")]
    [InlineData("XGB82WEST12345698765432")]
    [InlineData("gb82west12345698765432")]
    public void Rejects_non_ibans(string text) => Assert.Empty(Values(text, PiiEntityType.IbanCode));

    [Fact]
    public void An_invalid_iban_leaves_no_card_or_phone_behind()
    {
        var found = Matches("GB82 WEST 1234 5698 7654 33 and DE46 1005 0000 1234 5678 91");

        Assert.Empty(found);
    }

    [Fact]
    public void Length_table_covers_the_registry()
    {
        Assert.True(IbanDetector.LengthByCountry.Count >= 89);
        Assert.All(IbanDetector.LengthByCountry, kv => Assert.InRange(kv.Value, 15, 34));
    }
}
