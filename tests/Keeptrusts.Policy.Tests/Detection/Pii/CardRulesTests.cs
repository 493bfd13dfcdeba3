using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class CardRulesTests
{
    [Theory]
    [InlineData("visa 4111111111111111 exp", "4111111111111111")]
    [InlineData("visa 4111 1111 1111 1111.", "4111 1111 1111 1111")]
    [InlineData("visa 4111-1111-1111-1111", "4111-1111-1111-1111")]
    [InlineData("visa13 4661318609133", "4661318609133")]
    [InlineData("visa19 4909960308246281946", "4909960308246281946")]
    [InlineData("mc 5182 1993 5181 9098", "5182 1993 5181 9098")]
    [InlineData("mc2 2221378657975438", "2221378657975438")]
    [InlineData("mc2 2720231948757493", "2720231948757493")]
    [InlineData("amex 3782 822463 10005", "3782 822463 10005")]
    [InlineData("amex 379555979711476", "379555979711476")]
    [InlineData("discover 6011104974650750", "6011104974650750")]
    [InlineData("jcb 3589632122330791", "3589632122330791")]
    [InlineData("diners 36244026859951", "36244026859951")]
    [InlineData("unionpay 6210928159013962453", "6210928159013962453")]
    [InlineData("maestro 5018215472803850", "5018215472803850")]
    [InlineData("uatp 122280841485254", "122280841485254")]
    [InlineData("(card:4111111111111111)", "4111111111111111")]
    public void Finds_cards(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.CreditCard));

    [Theory]
    [InlineData("bad luhn 4111111111111112")]
    [InlineData("bad luhn 4111 1111 1111 1112")]
    [InlineData("no issuer 9111111111111119")]
    [InlineData("amex length 3782822463100051")]
    [InlineData("too long 41111111111111111111")]
    [InlineData("mixed 4111-1111 1111-1111")]
    [InlineData("glued ID4111111111111111")]
    [InlineData("glued 4111111111111111abc")]
    [InlineData("order number 0000000000000000")]
    [InlineData("phone +1 415 555 0132")]
    [InlineData("part of a longer number 4111-1111-1111-1111-2222")]
    public void Rejects_non_cards(string text) => Assert.Empty(Values(text, PiiEntityType.CreditCard));
}
