using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Tests.Evaluation;

/// <summary>Streams whose last finding ends exactly where the stream ends.</summary>
public sealed class PolicyOutputStreamEndingTests
{
    [Theory]
    [InlineData("re|port| a.b|-c@e|xamp|le.c|om")]
    [InlineData("report a.b-c@example.com")]
    [InlineData("report a.b-c@exa|mple.com")]
    public async Task A_secret_at_the_very_end_is_redacted_when_the_stream_completes(string split)
    {
        var chunks = split.Split('|');
        var engine = PolicyEngine.Create(PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}\npolicies:\n  chain: [pii-detector]\n").Config!);
        await using var exchange = engine.BeginExchange();
        var stream = exchange.BeginOutputStream();
        var output = new System.Text.StringBuilder();
        foreach (var chunk in chunks)
        {
            output.Append((await stream.AppendAsync(0, chunk)).Emit);
        }

        var (remaining, record) = await stream.CompleteAsync();
        output.Append(remaining[0]);

        Assert.Equal("report [REDACTED:EMAIL_ADDRESS]", output.ToString());
        Assert.Equal(PolicyDecision.Redact, record.Decision);
    }
}
