namespace Keeptrusts.Providers.Tests.Samples;

/// <summary>Runs samples/chatclient and checks that it shows what it promises.</summary>
public class ChatClientSampleTests
{
    [Fact]
    public async Task The_sample_shows_redaction_streaming_and_a_blocked_tool_result()
    {
        var output = new StringWriter();

        await Keeptrusts.Samples.ChatClient.Sample.RunAsync(output, Path.Combine(AppContext.BaseDirectory, "policy-config.yaml"));

        var text = output.ToString();
        Assert.Contains("the model saw: Forward the invoice to [REDACTED:EMAIL_ADDRESS] please.", text, StringComparison.Ordinal);
        Assert.Contains("input decision: Redact for user sample-user", text, StringComparison.Ordinal);
        Assert.Contains("streamed: My card is [REDACTED:CREDIT_CARD], is it on file?", text, StringComparison.Ordinal);
        Assert.Contains("blocked by prompt-injection:", text, StringComparison.Ordinal);
    }
}
