using System.Diagnostics.Metrics;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>The <c>keeptrusts.relay.*</c> instruments.</summary>
internal sealed class RelayMetrics
{
    public const string MeterName = "Keeptrusts.GatewayHost.Relay";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _badFrames;

    public RelayMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("keeptrusts.relay.requests", "{request}", "Requests relayed to the local gateway, by outcome (ok, error, cancelled, rejected).");
        _bytes = meter.CreateCounter<long>("keeptrusts.relay.bytes", "By", "Body bytes relayed, by direction (in: request bodies, out: response bodies).");
        _reconnects = meter.CreateCounter<long>("keeptrusts.relay.reconnects", "{reconnect}", "Reconnect attempts after a drop or a failure, by reason.");
        _badFrames = meter.CreateCounter<long>("keeptrusts.relay.frames.rejected", "{frame}", "Frames from the control plane that were malformed or too large.");
    }

    public void Request(string outcome) => _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void BytesIn(long n) => _bytes.Add(n, new KeyValuePair<string, object?>("direction", "in"));

    public void BytesOut(long n) => _bytes.Add(n, new KeyValuePair<string, object?>("direction", "out"));

    public void Reconnect(string reason) => _reconnects.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RejectedFrame(string reason) => _badFrames.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
