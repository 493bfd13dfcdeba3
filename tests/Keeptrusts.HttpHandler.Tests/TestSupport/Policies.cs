using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Tests.TestSupport;

/// <summary>The configurations the tests enforce.</summary>
internal static class Policies
{
    /// <summary>Redacts PII both ways; blocks "forbidden" in requests and "classified" in answers.</summary>
    public const string Standard = """
        pack: { name: handler-tests, version: 1.0.0 }
        policies:
          chain: [content-filter, pii-detector]
        policy:
          content-filter:
            action: block
            input: { deny_keywords: [forbidden] }
            output: { deny_keywords: [classified] }
          pii-detector:
            action: redact
        """;

    public static PolicyConfig Config(string yaml = Standard)
    {
        var result = PolicyConfigLoader.Parse(yaml);
        Assert.True(result.Config is not null, string.Join("\n", result.Diagnostics));
        return result.Config!;
    }

    public static PolicyEngine Engine(string yaml = Standard, IDecisionSink? sink = null)
    {
        var options = new PolicyEngineOptions();
        if (sink is not null)
        {
            options.Sinks.Add(sink);
        }

        return PolicyEngine.Create(Config(yaml), options);
    }
}

/// <summary>Collects decision records.</summary>
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
