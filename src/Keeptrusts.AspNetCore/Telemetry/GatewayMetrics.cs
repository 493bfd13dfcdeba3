using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Keeptrusts.AspNetCore.Telemetry;

/// <summary>The <c>keeptrusts.gateway.*</c> instruments.</summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "Keeptrusts.AspNetCore";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _reloads;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("keeptrusts.gateway.requests", "{request}", "Requests answered by the gateway, by endpoint, status and outcome.");
        _duration = meter.CreateHistogram<double>("keeptrusts.gateway.request.duration", "s", "Time from a request's arrival to the end of its answer (streams included).");
        _active = meter.CreateUpDownCounter<long>("keeptrusts.gateway.active_requests", "{request}", "Requests in progress.");
        _reloads = meter.CreateCounter<long>("keeptrusts.gateway.config.reloads", "{reload}", "Configuration reloads, by outcome.");
    }

    public void RequestStarted() => _active.Add(1);

    public void RequestEnded(string endpoint, int status, string outcome, TimeSpan elapsed)
    {
        _active.Add(-1);
        var tags = new TagList
        {
            { "endpoint", endpoint },
            { "http.response.status_code", status },
            { "outcome", outcome },
        };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Reloaded(string outcome) => _reloads.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
