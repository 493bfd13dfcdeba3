using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Conformance.Surfaces;

internal sealed class RecordingSink : IDecisionSink
{
    private readonly List<DecisionRecord> _records = [];

    public IReadOnlyList<DecisionRecord> Take()
    {
        lock (_records)
        {
            var taken = _records.ToArray();
            _records.Clear();
            return taken;
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
