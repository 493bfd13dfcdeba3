using System.Collections.Concurrent;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>Keeps every decision record the gateway publishes.</summary>
internal sealed class RecordingSink : IDecisionSink
{
    public ConcurrentQueue<DecisionRecord> Records { get; } = new();

    public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        Records.Enqueue(record);
        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<DecisionRecord> For(string requestId) => Records.Where(r => r.RequestId == requestId).ToList();
}
