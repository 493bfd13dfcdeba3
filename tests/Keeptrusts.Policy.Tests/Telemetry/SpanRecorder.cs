using System.Collections.Concurrent;
using System.Diagnostics;
using Keeptrusts.Policy.Telemetry;

namespace Keeptrusts.Policy.Tests.Telemetry;

/// <summary>
/// Records the Keeptrusts spans started under one test's own root span. Listeners are process-wide and tests run in
/// parallel, so spans are kept only when they belong to this recorder's trace.
/// </summary>
internal sealed class SpanRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly Activity _root;
    private readonly ConcurrentQueue<Activity> _spans = new();

    public SpanRecorder()
    {
        _root = new Activity("test-root");
        _root.SetIdFormat(ActivityIdFormat.W3C);
        var trace = default(ActivityTraceId);
        _listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == KeeptrustsTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.TraceId == trace ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == trace)
                {
                    _spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
        _root.Start();
        trace = _root.TraceId;
    }

    public IReadOnlyList<Activity> Spans => [.. _spans];

    public IReadOnlyList<Activity> Named(string name) => Spans.Where(a => a.OperationName == name).ToList();

    public void Dispose()
    {
        _root.Stop();
        _listener.Dispose();
    }
}
