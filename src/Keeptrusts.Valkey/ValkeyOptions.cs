namespace Keeptrusts.Valkey;

/// <summary>
/// Connection settings of the Valkey shared state. The defaults favour the gateway's traffic over Valkey: a Valkey
/// that stops answering costs each request at most <see cref="CommandTimeout"/>, and while the connection is down
/// commands fail at once (the client's fail-fast backlog policy) and state is kept in-process until it is back.
/// </summary>
public sealed class ValkeyOptions
{
    /// <summary>The longest opening a connection (TCP, TLS, AUTH, SELECT) may take. Default 1 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest one command may wait for its answer before state falls back to in-process. Default 250 ms.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the client checks its connection and command timeouts; below the client's 1 s default. Default 250 ms.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The wait between reconnect attempts while Valkey is unreachable. Default 500 ms.</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a spend reservation is held when its instance never settles or releases it (it crashed); after this
    /// the held amount no longer counts against the budget. Longer than the slowest request. Default 10 min.
    /// </summary>
    public TimeSpan ReservationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    internal void Validate()
    {
        var errors = new List<string>();
        foreach (var (name, value) in new[]
        {
            (nameof(ConnectTimeout), ConnectTimeout),
            (nameof(CommandTimeout), CommandTimeout),
            (nameof(HeartbeatInterval), HeartbeatInterval),
            (nameof(ReconnectInterval), ReconnectInterval),
            (nameof(ReservationTimeout), ReservationTimeout),
        })
        {
            if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
            {
                errors.Add($"{name} must be positive and at most one day");
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Valkey options: " + string.Join("; ", errors), "options");
        }
    }
}
