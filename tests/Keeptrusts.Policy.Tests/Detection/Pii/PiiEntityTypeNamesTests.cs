using Keeptrusts.Policy.Detection.Pii;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class PiiEntityTypeNamesTests
{
    [Theory]
    [InlineData("EmailAddress", "EMAIL_ADDRESS")]
    [InlineData("PhoneNumber", "PHONE_NUMBER")]
    [InlineData("CreditCard", "CREDIT_CARD")]
    [InlineData("UsSsn", "US_SSN")]
    [InlineData("IbanCode", "IBAN_CODE")]
    [InlineData("IpAddress", "IP_ADDRESS")]
    [InlineData("Crypto", "CRYPTO")]
    [InlineData("Secret", "SECRET")]
    public void Round_trips_canonical_names(string member, string name)
    {
        var type = Enum.Parse<PiiEntityType>(member);
        Assert.Equal(name, PiiEntityTypeNames.ToCanonicalName(type));
        Assert.True(PiiEntityTypeNames.TryParse(name.ToLowerInvariant(), out var parsed));
        Assert.Equal(type, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("EMAIL")]
    [InlineData("ALL")]
    public void Rejects_unknown_names(string name) => Assert.False(PiiEntityTypeNames.TryParse(name, out _));

    [Fact]
    public void All_is_every_single_type() =>
        Assert.Equal(PiiEntityType.All, PiiEntityTypeNames.SingleTypes.Aggregate(PiiEntityType.None, (a, t) => a | t));

    [Fact]
    public void Combined_flags_have_no_canonical_name() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PiiEntityTypeNames.ToCanonicalName(PiiEntityType.All));
}
