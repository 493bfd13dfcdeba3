using System.Diagnostics;
using Keeptrusts.Policy.Telemetry;

namespace Keeptrusts.Policy.Routing;

/// <content>Per-target counters, the metrics snapshot and the spans of upstream attempts.</content>
public sealed partial class ProviderRouter
{
    /// <summary>An immutable snapshot of every target's counters and state.</summary>
    /// <returns>The snapshot.</returns>
    public ProviderMetricsSnapshot GetMetrics()
    {
        var targets = new TargetMetrics[_targets.Length];
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = _targets[i].Snapshot();
        }

        return new ProviderMetricsSnapshot
        {
            Timestamp = _time.GetUtcNow(),
            Targets = targets,
            MaxConcurrency = _gate.Max,
            ConcurrencyLimit = _gate.Limit,
            InFlight = _gate.InFlight,
            Queued = _gate.Queued,
            QueueRejected = _gate.Rejected,
        };
    }

    private static Activity? StartAttemptActivity(RouteCandidate candidate, int number)
    {
        var activity = PolicyActivities.Source.StartActivity("keeptrusts.upstream.attempt", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(PolicyActivities.Target, candidate.Target.Id);
            activity.SetTag(PolicyActivities.AttemptNumber, number);
            activity.SetTag(PolicyActivities.ProviderName, candidate.Target.Target.Provider);
            if (candidate.Model is { } model)
            {
                activity.SetTag(PolicyActivities.RequestModel, model);
            }
        }

        return activity;
    }

    private static void EndAttemptActivity(Activity? activity, AttemptScope scope)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag(PolicyActivities.AttemptOutcome, scope.Kind.Name());
        if (scope.StatusCode is { } status)
        {
            activity.SetTag(PolicyActivities.HttpStatusCode, status);
        }

        if (scope.Kind != AttemptKind.Ok)
        {
            activity.SetTag(PolicyActivities.ErrorType, scope.Kind.Name());
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    private void Record(AttemptScope scope)
    {
        var target = scope.Target;
        var kind = scope.Kind;
        var latency = scope.Answered || kind == AttemptKind.Timeout ? scope.Elapsed : (TimeSpan?)null;
        target.RecordAttempt(kind, latency, scope.Answered);
        if (kind == AttemptKind.Ok)
        {
            _gate.OnSuccess();
            if (target.RecordHealth(success: true, probe: false))
            {
                ReportHealth(target);
            }
        }
        else if (kind.HurtsHealth() && target.RecordHealth(success: false, probe: false))
        {
            ReportHealth(target);
        }

        if (kind == AttemptKind.RateLimit)
        {
            _gate.OnRateLimited(scope.Admission);
        }

        var targetTag = new KeyValuePair<string, object?>("target", target.Id);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", kind.Name());
        _instruments.Attempts.Add(1, targetTag, outcomeTag);
        _instruments.AttemptDuration.Record(scope.Elapsed.TotalSeconds, targetTag, outcomeTag);

        var state = target.BreakerState;
        if (_reportedBreaker[target.Index] != state)
        {
            _reportedBreaker[target.Index] = state;
            _instruments.BreakerState.Record((int)state, targetTag);
        }
    }

    private void ReportHealth(TargetRuntime target) => _instruments.Healthy.Record(target.Healthy ? 1 : 0, Tag(target));

    private static KeyValuePair<string, object?> Tag(TargetRuntime target) => new("target", target.Id);
}
