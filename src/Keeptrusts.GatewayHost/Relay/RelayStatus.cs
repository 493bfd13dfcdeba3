using System.Globalization;
using System.Text.Json;
using Keeptrusts.AspNetCore;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>The relay's connection states as <c>/health</c> names them.</summary>
internal enum RelayState
{
    Disabled,
    Connecting,
    Connected,
    AuthFailed,
}

/// <summary>
/// What <c>/health</c> reports under <c>components.relay</c>: the state, the URL (without query), the last time a
/// connection registered, how many reconnects there were, and the requests in flight. Thread-safe; never a token.
/// </summary>
internal sealed class RelayStatus : IKeeptrustsHealthComponent
{
    private readonly Lock _gate = new();
    private readonly string? _url;
    private readonly string? _disabledReason;
    private RelayState _state;
    private DateTimeOffset? _lastConnectedAt;
    private string? _sessionId;
    private long _reconnects;
    private TimeSpan? _nextRetry;
    private int _inFlight;

    private RelayStatus(RelayState state, string? url, string? disabledReason)
    {
        _state = state;
        _url = url;
        _disabledReason = disabledReason;
    }

    public static RelayStatus Disabled(string reason) => new(RelayState.Disabled, null, reason);

    public static RelayStatus For(Uri url) => new(RelayState.Connecting, RelayUrl.Display(url), null);

    public string Name => "relay";

    public RelayState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public DateTimeOffset? LastConnectedAt
    {
        get
        {
            lock (_gate)
            {
                return _lastConnectedAt;
            }
        }
    }

    /// <summary>The delay before the next attempt, while waiting for one.</summary>
    public TimeSpan? NextRetry
    {
        get
        {
            lock (_gate)
            {
                return _nextRetry;
            }
        }
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Moves to a new state; returns the previous one so callers can log changes only.</summary>
    public RelayState Set(RelayState state)
    {
        lock (_gate)
        {
            var previous = _state;
            _state = state;
            if (state != RelayState.Connected)
            {
                _sessionId = null;
            }

            return previous;
        }
    }

    public void Registered(string? sessionId, DateTimeOffset at)
    {
        lock (_gate)
        {
            _state = RelayState.Connected;
            _sessionId = sessionId;
            _lastConnectedAt = at;
            _nextRetry = null;
        }
    }

    public void Waiting(TimeSpan delay)
    {
        Interlocked.Increment(ref _reconnects);
        lock (_gate)
        {
            _nextRetry = delay;
        }
    }

    public void Retrying()
    {
        lock (_gate)
        {
            _nextRetry = null;
        }
    }

    public void RequestStarted() => Interlocked.Increment(ref _inFlight);

    public void RequestEnded() => Interlocked.Decrement(ref _inFlight);

    public void WriteHealth(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_gate)
        {
            writer.WriteString("status", Name(_state));
            if (_state == RelayState.Disabled)
            {
                if (_disabledReason is not null)
                {
                    writer.WriteString("reason", _disabledReason);
                }

                return;
            }

            writer.WriteString("url", _url);
            if (_sessionId is not null)
            {
                writer.WriteString("session_id", _sessionId);
            }

            if (_lastConnectedAt is { } at)
            {
                writer.WriteString("last_connected_at", at.ToString("O", CultureInfo.InvariantCulture));
            }
            else
            {
                writer.WriteNull("last_connected_at");
            }

            writer.WriteNumber("reconnects", Interlocked.Read(ref _reconnects));
            writer.WriteNumber("in_flight", Volatile.Read(ref _inFlight));
            if (_nextRetry is { } retry)
            {
                writer.WriteNumber("next_retry_seconds", Math.Round(retry.TotalSeconds, 3));
            }
        }

        static string Name(RelayState state) => state switch
        {
            RelayState.Connected => "connected",
            RelayState.AuthFailed => "auth_failed",
            RelayState.Disabled => "disabled",
            _ => "connecting",
        };
    }
}
