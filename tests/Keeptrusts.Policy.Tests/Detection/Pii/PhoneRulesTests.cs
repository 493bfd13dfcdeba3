using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class PhoneRulesTests
{
    [Theory]
    [InlineData("call (212) 555-0199 now", "(212) 555-0199")]
    [InlineData("call (212)555-0199", "(212)555-0199")]
    [InlineData("office 212-555-0199.", "212-555-0199")]
    [InlineData("office 212.555.0199", "212.555.0199")]
    [InlineData("office 212 555 0199", "212 555 0199")]
    [InlineData("toll free 1-800-555-0100", "1-800-555-0100")]
    [InlineData("us +1 212 555 0199", "+1 212 555 0199")]
    [InlineData("us +1 (212) 555-0199", "+1 (212) 555-0199")]
    [InlineData("us +12125550199", "+12125550199")]
    [InlineData("london +44 20 7946 0958", "+44 20 7946 0958")]
    [InlineData("london +44 (0) 20 7946 0958", "+44 (0) 20 7946 0958")]
    [InlineData("berlin +49 30 901820", "+49 30 901820")]
    [InlineData("paris +33 1 42 68 53 00", "+33 1 42 68 53 00")]
    [InlineData("mumbai +91-98765-43210", "+91-98765-43210")]
    [InlineData("dial 0044 20 7946 0958", "0044 20 7946 0958")]
    [InlineData("uk 020 7946 0958", "020 7946 0958")]
    [InlineData("de 030 12345678", "030 12345678")]
    [InlineData("fr 01 42 68 53 00", "01 42 68 53 00")]
    [InlineData("jp 03-3210-1234", "03-3210-1234")]
    [InlineData("au (02) 9374 4000", "(02) 9374 4000")]
    [InlineData("phone: 2125550199", "2125550199")]
    public void Finds_numbers(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.PhoneNumber));

    [Theory]
    [InlineData("released on 2024-03-15")]
    [InlineData("on 15.03.2024 and 03/15/2024")]
    [InlineData("version 10.2.3.4567")]
    [InlineData("server 192.168.10.20")]
    [InlineData("card 4111 1111 1111 1111")]
    [InlineData("order 2125550199 shipped")]
    [InlineData("id 123-456-7890")]
    [InlineData("ssn 078-05-1120")]
    [InlineData("tx 20240315123456789012")]
    [InlineData("+99 1234 5678")]
    [InlineData("abc555-555-5555")]
    [InlineData("room 12 floor 3 seat 45")]
    [InlineData("pi is 3.14159 26535 89793")]
    [InlineData("ratio 0.5 0.25 0.125")]
    public void Rejects_non_numbers(string text) => Assert.Empty(Values(text, PiiEntityType.PhoneNumber));
}
