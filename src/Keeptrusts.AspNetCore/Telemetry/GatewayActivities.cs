using System.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Telemetry;

namespace Keeptrusts.AspNetCore.Telemetry;

/// <summary>The gateway's spans: one per request, its identity step and a streamed answer; never prompt text.</summary>
internal static class GatewayActivities
{
    public static readonly ActivitySource Source = new(KeeptrustsTelemetry.ActivitySourceName, typeof(GatewayActivities).Assembly.GetName().Version?.ToString());

    public static Activity? StartRequest(string requestId)
    {
        var activity = Source.StartActivity("keeptrusts.gateway.request");
        activity?.SetTag("keeptrusts.request.id", requestId);
        activity?.SetTag("gen_ai.operation.name", "chat");
        return activity;
    }

    public static void EndRequest(Activity? activity, int status, string outcome)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag("http.response.status_code", status);
        activity.SetTag("keeptrusts.outcome", outcome);
        if (status >= 500 || outcome is "error" or "upstream_error")
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    public static Activity? StartIdentity() => Source.StartActivity("keeptrusts.identity");

    public static void EndIdentity(Activity? activity, int status, IdentityProofMethod? method)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag("http.response.status_code", status);
        if (method is { } proof)
        {
            activity.SetTag("keeptrusts.identity.proof_method", proof.ToString());
        }
        else
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    public static Activity? StartStream(string? target)
    {
        var activity = Source.StartActivity("keeptrusts.stream");
        activity?.SetTag("keeptrusts.target.id", target);
        return activity;
    }

    public static void EndStream(Activity? activity, string outcome)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag("keeptrusts.outcome", outcome);
        if (outcome != "ok")
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
