using System.Diagnostics;

namespace Keeptrusts.Policy.Telemetry;

/// <summary>
/// The names under which Keeptrusts publishes traces and metrics, for an OpenTelemetry set-up
/// (<c>AddSource(KeeptrustsTelemetry.ActivitySourceName)</c>, <c>AddMeter(KeeptrustsTelemetry.MeterNamePrefix + "*")</c>).
/// Spans and metrics carry identifiers, decisions, counts and timings; never prompt or answer text, and never secrets.
/// </summary>
public static class KeeptrustsTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name of every Keeptrusts span: gateway requests, identity, policy phases, upstream attempts and streams.</summary>
    public const string ActivitySourceName = "Keeptrusts";

    /// <summary>The prefix of every Keeptrusts meter name (<c>Keeptrusts.Router</c>, <c>Keeptrusts.AspNetCore</c>, …).</summary>
    public const string MeterNamePrefix = "Keeptrusts.";
}

/// <summary>The source this assembly starts spans from, and the attribute names they use.</summary>
internal static class PolicyActivities
{
    public static readonly ActivitySource Source = new(KeeptrustsTelemetry.ActivitySourceName, typeof(PolicyActivities).Assembly.GetName().Version?.ToString());

    // OpenTelemetry semantic conventions where one exists (gen_ai.*, http.*, error.type); keeptrusts.* otherwise.
    public const string RequestModel = "gen_ai.request.model";
    public const string ProviderName = "gen_ai.provider.name";
    public const string HttpStatusCode = "http.response.status_code";
    public const string ErrorType = "error.type";
    public const string Phase = "keeptrusts.policy.phase";
    public const string Decision = "keeptrusts.decision";
    public const string BlockedBy = "keeptrusts.blocked_by";
    public const string FindingCount = "keeptrusts.findings.count";
    public const string Target = "keeptrusts.target.id";
    public const string AttemptNumber = "keeptrusts.attempt.number";
    public const string AttemptOutcome = "keeptrusts.attempt.outcome";
}
