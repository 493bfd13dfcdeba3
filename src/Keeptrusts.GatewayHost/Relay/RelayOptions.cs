using Keeptrusts.GatewayHost.Cli;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>
/// How the relay client connects and forwards. The defaults are the protocol's (docs/relay.md); tests shorten the
/// limits, never the meaning. <see cref="ToString"/> never shows the token.
/// </summary>
internal sealed record RelayOptions
{
    /// <summary>The most requests forwarded at once by default; more are answered 503.</summary>
    public const int DefaultMaxInFlight = 64;

    /// <summary>The largest frame accepted from the control plane by default: a 10 MiB request body in base64 and its envelope.</summary>
    public const int DefaultMaxFrameBytes = 16 * 1024 * 1024;

    /// <summary>The most response bytes one <c>response_chunk</c> carries.</summary>
    public const int ChunkBytes = 64 * 1024;

    /// <summary>The relay endpoint (<c>ws://</c> or <c>wss://</c>).</summary>
    public required Uri Url { get; init; }

    /// <summary>The bearer token of the upgrade request (<c>KEEPTRUSTS_API_TOKEN</c>, else the gateway token).</summary>
    public required string Token { get; init; }

    /// <summary>The gateway's identity in the <c>register</c> frame (<c>KEEPTRUSTS_RUNTIME_REGISTRATION_ID</c>).</summary>
    public required string RegistrationId { get; init; }

    /// <summary>This process's id in the <c>register</c> frame; new for every start.</summary>
    public string InstanceId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>The version in the <c>register</c> frame.</summary>
    public string GatewayVersion { get; init; } = KtVersion.Informational.Split('+')[0];

    /// <summary>How long a forwarded request may take to start its answer; then 504.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the upgrade plus the wait for <c>registered</c> may take.</summary>
    public TimeSpan RegistrationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the gateway pings; a ping not answered within three intervals ends the connection.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The first reconnect delay; it doubles after each failure.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest reconnect delay (before jitter).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection registered this long resets the backoff to <see cref="InitialBackoff"/>.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The most jitter added to a delay, as a fraction of it (0.2 = up to 20% more).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>The most requests forwarded at once.</summary>
    public int MaxInFlight { get; init; } = DefaultMaxInFlight;

    /// <summary>The largest frame accepted from the control plane.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>A number from 0 (inclusive) to 1 (exclusive) for jitter; tests fix it.</summary>
    public Func<double> NextRandom { get; init; } = Random.Shared.NextDouble;

    public override string ToString() => $"{RelayUrl.Display(Url)} (registration id {RegistrationId}, token {(Token.Length > 0 ? "set" : "not set")})";
}
