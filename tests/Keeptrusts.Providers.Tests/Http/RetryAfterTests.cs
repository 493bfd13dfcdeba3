using Keeptrusts.Providers.Http;

namespace Keeptrusts.Providers.Tests.Http;

public sealed class RetryAfterTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData(" 120 ", 120)]
    [InlineData("1.5", 1.5)]
    [InlineData("Sat, 01 Mar 2025 12:00:30 GMT", 30)]
    [InlineData("Saturday, 01-Mar-25 12:01:00 GMT", 60)]
    [InlineData("Sat Mar  1 12:00:05 2025", 5)]
    [InlineData("Sat, 01 Mar 2025 11:59:00 GMT", 0)]
    public void Parses_seconds_and_http_dates(string value, double expectedSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), RetryAfter.Parse(value, Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("2025-03-01T12:00:30Z")]
    public void Ignores_values_that_are_neither(string? value)
    {
        Assert.Null(RetryAfter.Parse(value, Now));
    }

    [Fact]
    public void Prefers_retry_after_ms_when_present()
    {
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation("retry-after-ms", "250");
        response.Headers.TryAddWithoutValidation("Retry-After", "9");

        Assert.Equal(TimeSpan.FromMilliseconds(250), RetryAfter.From(response.Headers, TimeProvider.System));
    }
}
