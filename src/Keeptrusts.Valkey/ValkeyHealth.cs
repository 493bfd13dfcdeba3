using System.Diagnostics.Metrics;
using Keeptrusts.Policy.SharedState;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// Whether Valkey can be used right now, and the one warning per outage. An operation asks <see cref="IsUsable"/>
/// first (no command is sent while the client knows the connection is down), then reports how it went; the first
/// failure of an outage and the first success after it raise one event each.
/// </summary>
internal sealed class ValkeyHealth
{
    private static readonly Meter Meter = new("Keeptrusts.Valkey");
    private static readonly Counter<long> FallbackCounter = Meter.CreateCounter<long>("keeptrusts.valkey.fallbacks", "{operation}", "Shared-state operations served in-process because Valkey was unreachable (fail open).");
    private static readonly Counter<long> OutageCounter = Meter.CreateCounter<long>("keeptrusts.valkey.outages", "{outage}", "Times Valkey became unreachable.");

    private readonly IConnectionMultiplexer _connection;
    private readonly string _endpoint;
    private readonly Action<SharedStateEvent>? _onEvent;
    private readonly Lock _gate = new();
    private bool _outage;
    private long _outages;
    private long _fallbacks;

    public ValkeyHealth(IConnectionMultiplexer connection, string endpoint, Action<SharedStateEvent>? onEvent)
    {
        _connection = connection;
        _endpoint = endpoint;
        _onEvent = onEvent;
    }

    public bool InOutage
    {
        get
        {
            lock (_gate)
            {
                return _outage;
            }
        }
    }

    public long Fallbacks => Interlocked.Read(ref _fallbacks);

    /// <summary>Whether to send a command at all; when not, the caller falls back and this counts as a failure.</summary>
    public bool IsUsable()
    {
        if (_connection.IsConnected)
        {
            return true;
        }

        Failed("not connected");
        return false;
    }

    public void Succeeded()
    {
        SharedStateEvent? restored = null;
        lock (_gate)
        {
            if (_outage)
            {
                _outage = false;
                restored = new SharedStateEvent(SharedStateEventKind.Restored, $"shared state: Valkey at {_endpoint} answers again; limits, spend and fingerprints are shared by the fleet again", _outages, Interlocked.Read(ref _fallbacks));
            }
        }

        if (restored is { } e)
        {
            _onEvent?.Invoke(e);
        }
    }

    public void Failed(Exception failure) => Failed(Describe(failure));

    private void Failed(string why)
    {
        var fallbacks = Interlocked.Increment(ref _fallbacks);
        FallbackCounter.Add(1);
        SharedStateEvent? unavailable = null;
        lock (_gate)
        {
            if (!_outage)
            {
                _outage = true;
                _outages++;
                OutageCounter.Add(1);
                unavailable = new SharedStateEvent(
                    SharedStateEventKind.Unavailable,
                    $"shared state: Valkey at {_endpoint} is unreachable ({why}); failing open, limits, spend and fingerprints are kept per gateway instance until it answers",
                    _outages,
                    fallbacks);
            }
        }

        if (unavailable is { } e)
        {
            _onEvent?.Invoke(e);
        }
    }

    // The client's messages name the endpoint and the command, never the password; keep the first line only.
    private static string Describe(Exception failure) => failure switch
    {
        RedisTimeoutException => "timed out",
        RedisConnectionException connection => connection.FailureType.ToString(),
        TimeoutException => "timed out",
        _ => failure.GetType().Name,
    };
}
