using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class SsnRulesTests
{
    [Theory]
    [InlineData("ssn 536-22-8726 on file", "536-22-8726")]
    [InlineData("id 536 22 8726", "536 22 8726")]
    [InlineData("id 536.22.8726", "536.22.8726")]
    [InlineData("SSN: 536228726", "536228726")]
    [InlineData("social security number 536228726", "536228726")]
    [InlineData("(536-22-8726)", "536-22-8726")]
    public void Finds_numbers(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.UsSsn));

    [Theory]
    [InlineData("area zero 000-12-3456")]
    [InlineData("area 666 666-12-3456")]
    [InlineData("area 9xx 912-34-5678")]
    [InlineData("group zero 536-00-8726")]
    [InlineData("serial zero 536-22-0000")]
    [InlineData("wallet card 078-05-1120")]
    [InlineData("advert 219-09-9999")]
    [InlineData("repeated 111-11-1111")]
    [InlineData("mixed 536-22.8726")]
    [InlineData("mixed 536 22-8726")]
    [InlineData("bare without context 536228726")]
    [InlineData("longer 536-22-8726-1")]
    [InlineData("date 2024-03-15")]
    [InlineData("glued x536-22-8726")]
    public void Rejects_non_numbers(string text) => Assert.Empty(Values(text, PiiEntityType.UsSsn));
}
