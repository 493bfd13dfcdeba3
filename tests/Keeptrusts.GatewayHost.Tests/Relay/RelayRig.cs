using System.Net;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.GatewayHost.Tests.Gateway;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>
/// The whole relay path on real sockets: a <see cref="RelayEmulator"/> (the control plane), a
/// <see cref="ScriptedUpstream"/> (the provider) and the real standalone gateway whose relay client connects out to
/// the emulator. Logs are captured; jitter is zero so delays are exact.
/// </summary>
internal sealed class RelayRig : IAsyncDisposable
{
    private readonly StringWriter _log;
    private readonly LineLoggerProvider _logs;
    private readonly string _directory;

    private RelayRig(RelayEmulator emulator, ScriptedUpstream upstream, GatewayServer gateway, string directory, StringWriter log, LineLoggerProvider logs)
    {
        Emulator = emulator;
        Upstream = upstream;
        Gateway = gateway;
        _directory = directory;
        _log = log;
        _logs = logs;
        Http = new HttpClient { BaseAddress = gateway.Addresses[0], Timeout = TimeSpan.FromSeconds(30) };
    }

    public RelayEmulator Emulator { get; }

    public ScriptedUpstream Upstream { get; }

    public GatewayServer Gateway { get; }

    /// <summary>A client for the gateway's own port (health, direct calls).</summary>
    public HttpClient Http { get; }

    public RelayStatus Status => Gateway.RelayStatus;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<RelayRig> StartAsync(TimeProvider? time = null, Func<RelayOptions, RelayOptions>? relay = null, Action<RelayEmulator>? beforeGateway = null, bool waitRegistered = true)
    {
        var emulator = await RelayEmulator.StartAsync();
        beforeGateway?.Invoke(emulator);
        var upstream = await ScriptedUpstream.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "kt-relay-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "audit"));
        var configPath = Path.Combine(directory, "policy-config.yaml");
        await File.WriteAllTextAsync(configPath, GatewayUnderTest.QuickstartChain(upstream.BaseUrl, Path.Combine(directory, "audit", "audit.jsonl")));
        var options = new RelayOptions
        {
            Url = emulator.RelayUrl,
            Token = RelayEmulator.Token,
            RegistrationId = RelayEmulator.RegistrationId,
            NextRandom = static () => 0,
        };
        var settings = new GatewayRunSettings
        {
            Listen = new ListenAddress(IPAddress.Loopback, 0),
            ConfigFiles = [configPath],
            WatchConfigFiles = false,
            ShutdownTimeout = TimeSpan.FromSeconds(20),
            MaxConcurrency = 64,
            Relay = relay?.Invoke(options) ?? options,
        };
        var log = new StringWriter();
        var logs = new LineLoggerProvider(TextWriter.Synchronized(log), TimeProvider.System);
        var gateway = await GatewayServer.StartAsync(settings, logs, time ?? TimeProvider.System, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var rig = new RelayRig(emulator, upstream, gateway, directory, log, logs);
        if (waitRegistered)
        {
            await rig.WaitConnectedAsync();
        }

        return rig;
    }

    /// <summary>Waits until the emulator has a registered connection (other than <paramref name="notSession"/>) and the gateway has read its <c>registered</c> frame.</summary>
    public async Task<ControlPlaneEmulator.Relay.RelayGatewayConnection> WaitConnectedAsync(string? notSession = null)
    {
        var connection = await Emulator.WaitRegisteredAsync(notSession);
        await RelayEmulator.WaitUntilAsync(() => Status.State == RelayState.Connected, "the gateway to read its registered frame");
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Upstream.Release();
        await Gateway.DisposeAsync();
        await Emulator.DisposeAsync();
        await Upstream.DisposeAsync();
        _logs.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
