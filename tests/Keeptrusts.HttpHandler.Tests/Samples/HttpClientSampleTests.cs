namespace Keeptrusts.HttpHandler.Tests.Samples;

/// <summary>Runs samples/httpclient-openai and checks that it shows what it promises.</summary>
public class HttpClientSampleTests
{
    [Fact]
    public async Task The_sample_shows_redaction_streaming_and_both_kinds_of_block()
    {
        var output = new StringWriter();

        await Keeptrusts.Samples.HttpClientOpenAI.Sample.RunAsync(output, Path.Combine(AppContext.BaseDirectory, "policy-config.yaml"));

        var text = output.ToString();
        Assert.Contains("the provider saw: Email [REDACTED:EMAIL_ADDRESS] the receipt for card [REDACTED:CREDIT_CARD].", text, StringComparison.Ordinal);
        Assert.Contains("streamed: Call me on [REDACTED:PHONE_NUMBER] tomorrow.", text, StringComparison.Ordinal);
        Assert.Contains("blocked: HTTP 400:", text, StringComparison.Ordinal);
        Assert.Contains("\"policy\":\"prompt-injection\"", text, StringComparison.Ordinal);
        Assert.Contains("blocked by content-filter: content matched deny rule input.deny_keywords[0]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.com", text, StringComparison.Ordinal);
    }
}
