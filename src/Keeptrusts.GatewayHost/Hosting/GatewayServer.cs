using System.Diagnostics.Metrics;
using System.Net;
using Keeptrusts.AspNetCore;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.ControlPlane;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.GatewayHost.Reporting;
using Keeptrusts.GatewayHost.Tenancy;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.Providers;
using Keeptrusts.Valkey;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>
/// The standalone gateway: Kestrel on the listen address with limits that keep hostile clients cheap, the
/// Keeptrusts endpoints from <c>Keeptrusts.AspNetCore</c>, event reporting when a control plane is configured, and a
/// graceful stop (no new connections, in-flight requests drained within the shutdown timeout, then sinks flushed).
/// </summary>
internal sealed partial class GatewayServer : IAsyncDisposable
{
    /// <summary>The most request headers accepted; more gets 431.</summary>
    internal const int MaxRequestHeaderCount = 100;

    /// <summary>The most bytes of request headers accepted; more gets 431.</summary>
    internal const int MaxRequestHeadersTotalSize = 32 * 1024;

    private readonly WebApplication _app;
    private readonly ControlPlaneEventSink? _events;
    private readonly HttpClient? _eventsHttp;
    private readonly ILogger _logger;
    private readonly TimeSpan _shutdownTimeout;
    private RelayClient? _relay;
    private int _stopped;
    private HttpClient? _controlPlaneHttp;

    private GatewayServer(WebApplication app, ControlPlaneEventSink? events, HttpClient? eventsHttp, IReadOnlyList<Uri> addresses, RelayStatus relayStatus, TimeSpan shutdownTimeout)
    {
        _app = app;
        RelayStatus = relayStatus;
        _shutdownTimeout = shutdownTimeout;
        _events = events;
        _eventsHttp = eventsHttp;
        Addresses = addresses;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<GatewayServer>();
        Runtime = app.Services.GetRequiredService<IKeeptrustsGatewayRuntime>();
    }

    /// <summary>The addresses Kestrel bound, with the real port when port 0 was asked for.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    public IKeeptrustsGatewayRuntime Runtime { get; }

    /// <summary>The relay's state, as <c>/health</c> reports it.</summary>
    public RelayStatus RelayStatus { get; }

    /// <summary>Builds and starts the gateway. Throws <see cref="KeeptrustsGatewayConfigurationException"/> when the configuration cannot be loaded and <see cref="IOException"/> when the address cannot be bound.</summary>
    public static async Task<GatewayServer> StartAsync(GatewayRunSettings settings, ILoggerProvider logs, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.None);

        // Signals belong to the kt process (ProcessSignals), never to a host that tests run in their own process.
        builder.Services.AddSingleton<IHostLifetime, ExternallyStoppedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        builder.WebHost.UseKestrel(kestrel => ConfigureKestrel(kestrel, settings));
        builder.AddGatewayTelemetry(settings);

        ControlPlaneEventSink? events = null;
        HttpClient? eventsHttp = null;
        var instanceId = settings.InstanceId ?? (settings.ApiUrl is null ? InstanceIds.New() : InstanceIds.LoadOrCreate(settings.DataDirectory));
        if (settings.ApiUrl is { } apiUrl)
        {
            eventsHttp = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            events = ControlPlaneEventSink.Start(
                new EventReportingOptions
                {
                    ApiUrl = apiUrl,
                    Token = settings.ApiToken,
                    SpoolDirectory = Path.Combine(settings.DataDirectory, "events"),
                    MaxSpoolBytes = settings.MaxSpoolBytes,
                    InstanceId = instanceId,
                    GatewayVersion = KtVersion.Informational,
                },
                eventsHttp,
                time,
                logs.CreateLogger(typeof(ControlPlaneEventSink).FullName!));
        }

        var controlPlaneHttp = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var controlPlane = settings.ApiUrl is { } cpUrl ? new ControlPlaneClient(controlPlaneHttp, cpUrl, settings.ApiToken) : null;
        var secrets = new StoreSecretResolver(controlPlane, time, logs.CreateLogger(typeof(StoreSecretResolver).FullName!));
        var relayStatus = settings.Relay is { } relayOptions ? RelayStatus.For(relayOptions.Url) : RelayStatus.Disabled(settings.RelayOff);
        builder.Services.AddSingleton<IKeeptrustsHealthComponent>(relayStatus);

        builder.Services.AddKeeptrustsGateway(options =>
        {
            options.PrepareRevision = secrets.Prepare;
            if (settings.Hosted)
            {
                // The gateway's own configuration only serves /health and the runtime API; callers get their tenant's.
                options.ConfigYaml = HostedTenants.PlaceholderConfig;
            }

            foreach (var file in settings.ConfigFiles)
            {
                options.ConfigFiles.Add(file);
            }

            options.FailMode = settings.FailMode;
            options.MaxConcurrency = settings.MaxConcurrency;
            options.AdminToken = settings.ApiToken;
            options.WatchConfigFiles = settings.WatchConfigFiles && !settings.Hosted;
            options.DrainTimeout = settings.ShutdownTimeout;
            options.TimeProvider = time;
            options.InstanceId = instanceId;
            if (events is not null)
            {
                options.DecisionSinks.Add(events);
            }
        });
        // distributed_rate_limit shares rate limits, spend and fingerprints through Valkey.
        builder.Services.AddSingleton(ValkeySharedState.CreateFactory());
        builder.Services.AddKeeptrustsProviders(options =>
        {
            options.SecretResolver = secrets;
            options.UpstreamApiKey = settings.UpstreamApiKey;
            options.ApiKeyHeader = settings.UpstreamApiKeyHeader;
            options.ApiKeyPrefix = settings.UpstreamApiKeyPrefix;
        });
        if (settings.Upstream is { } upstream)
        {
            UpstreamOverrideFactory.Register(builder.Services, upstream);
        }

        if (settings.Hosted)
        {
            var hostedOptions = new HostedTenantOptions
            {
                FailMode = settings.FailMode,
                MaxConcurrency = settings.MaxConcurrency,
                DrainTimeout = settings.ShutdownTimeout,
                ApiKeyHeader = settings.UpstreamApiKeyHeader,
                ApiKeyPrefix = settings.UpstreamApiKeyPrefix,
                InstanceId = instanceId,
            };
            builder.Services.AddSingleton(sp => new HostedTenants(controlPlane!, settings.HostedOptions?.Invoke(hostedOptions) ?? hostedOptions, events, time, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
            builder.Services.AddSingleton<IHostedTenants>(sp => sp.GetRequiredService<HostedTenants>());
        }

        var app = builder.Build();
        app.UseRequestIdOnEveryAnswer();
        app.MapKeeptrustsGateway();
        app.MapGatewayTelemetry(settings);
        if (events is not null)
        {
            app.MapEventReportingStatus(events, settings.ApiToken);
        }

        if (settings.Hosted)
        {
            app.MapHostedTenants(app.Services.GetRequiredService<HostedTenants>(), settings.ApiToken);
        }

        try
        {
            // Resolving the runtime loads the configuration; a broken one fails here, before anything listens.
            _ = app.Services.GetRequiredService<IKeeptrustsGatewayRuntime>().Current;
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (events is not null)
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }

            eventsHttp?.Dispose();
            controlPlaneHttp.Dispose();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(static a => new Uri(a)).ToList() ?? [];
        var server = new GatewayServer(app, events, eventsHttp, addresses, relayStatus, settings.ShutdownTimeout) { _controlPlaneHttp = controlPlaneHttp };
        var relayLogger = logs.CreateLogger(typeof(RelayClient).FullName!);
        if (settings.Relay is { } relay && addresses.Count > 0)
        {
            var metrics = new RelayMetrics(app.Services.GetRequiredService<IMeterFactory>());
            server._relay = new RelayClient(relay with { InstanceId = instanceId }, LocalAddress(settings.Listen, addresses[0].Port), time, metrics, relayStatus, relayLogger);
            server._relay.Start();
        }
        else if (settings.RelayOffWarns)
        {
            RelayLog.Off(relayLogger, settings.RelayOff);
        }

        return server;
    }

    /// <summary>Reloads the configuration files (SIGHUP). The runtime logs the outcome; a failed reload keeps the running configuration.</summary>
    public Task<GatewayReloadResult> ReloadAsync(CancellationToken cancellationToken)
    {
        GatewayLog.ReloadRequested(_logger);
        return Runtime.ReloadAsync(null, cancellationToken);
    }

    /// <summary>
    /// Stops accepting connections, lets in-flight requests finish (up to the shutdown timeout, or until
    /// <paramref name="abort"/>), then disposes the runtime (engines flush their sinks) and the event reporter.
    /// </summary>
    public async Task StopAsync(CancellationToken abort)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        GatewayLog.Stopping(_logger, _app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout.TotalSeconds);
        if (_relay is not null)
        {
            // Relayed requests drain first, through the still-open local listener; the socket closes with 1001.
            using var relayDeadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
            relayDeadline.CancelAfter(_shutdownTimeout);
            await _relay.StopAsync(relayDeadline.Token).ConfigureAwait(false);
            await _relay.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _app.StopAsync(abort).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        if (_events is not null)
        {
            await _events.DisposeAsync().ConfigureAwait(false);
        }

        _eventsHttp?.Dispose();
        _controlPlaneHttp?.Dispose();
        GatewayLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <summary>Where the relay sends requests: loopback on the gateway's own port, or the one address it listens on.</summary>
    internal static Uri LocalAddress(ListenAddress listen, int port)
    {
        var address = listen.Address;
        var host = address is null || IPAddress.Any.Equals(address) || IPAddress.IsLoopback(address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? "127.0.0.1"
            : IPAddress.IPv6Any.Equals(address) || IPAddress.IPv6Loopback.Equals(address) ? "[::1]"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return new Uri($"http://{host}:{port}/");
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, GatewayRunSettings settings)
    {
        var gatewayOptions = kestrel.ApplicationServices.GetRequiredService<IOptions<KeeptrustsGatewayOptions>>().Value;
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;

        // Kestrel refuses a larger Content-Length with 413 before reading a byte of it.
        limits.MaxRequestBodySize = gatewayOptions.MaxRequestBodyBytes;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
        limits.MaxRequestLineSize = 8 * 1024;
        limits.RequestHeadersTimeout = settings.RequestHeadersTimeout;

        // A body trickling in slower than 1 KiB/s after the grace period (5 s) is cut off, so a slow upload of a huge
        // body cannot hold a connection (and a concurrency slot) for hours.
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: settings.BodyDataRateGracePeriod);
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.Http2.MaxRequestHeaderFieldSize = 16 * 1024;

        var listen = settings.Listen;
        if (listen.IsLocalhost)
        {
            if (listen.Port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0);
            }
            else
            {
                kestrel.ListenLocalhost(listen.Port);
            }
        }
        else
        {
            kestrel.Listen(listen.Address!, listen.Port);
        }
    }

    /// <summary>Does not hook console signals: the kt process decides when the host stops.</summary>
    private sealed class ExternallyStoppedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
