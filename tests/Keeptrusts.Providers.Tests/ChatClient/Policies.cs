using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Providers.Tests.ChatClient;

internal static class Policies
{
    /// <summary>Redacts PII both ways; blocks "forbidden" in requests and "classified" in answers; blocks prompt injection.</summary>
    public const string Standard = """
        pack: { name: chat-client-tests, version: 1.0.0 }
        policies:
          chain: [prompt-injection, content-filter, pii-detector]
        policy:
          prompt-injection: { action: block }
          content-filter:
            action: block
            input: { deny_keywords: [forbidden] }
            output: { deny_keywords: [classified] }
          pii-detector: { action: redact }
        """;

    public static PolicyEngine Engine(IDecisionSink? sink = null)
    {
        var result = PolicyConfigLoader.Parse(Standard);
        Assert.True(result.Config is not null, string.Join("\n", result.Diagnostics));
        var options = new PolicyEngineOptions();
        if (sink is not null)
        {
            options.Sinks.Add(sink);
        }

        return PolicyEngine.Create(result.Config!, options);
    }
}

internal sealed class RecordingSink : IDecisionSink
{
    private readonly List<DecisionRecord> _records = [];

    public IReadOnlyList<DecisionRecord> Records
    {
        get
        {
            lock (_records)
            {
                return _records.ToArray();
            }
        }
    }

    public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        lock (_records)
        {
            _records.Add(record);
        }

        return ValueTask.CompletedTask;
    }
}
