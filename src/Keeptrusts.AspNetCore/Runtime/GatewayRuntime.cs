using System.Diagnostics.Metrics;
using Keeptrusts.AspNetCore.Admin;
using Keeptrusts.AspNetCore.Telemetry;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Policy.SharedState;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>
/// Holds the current <see cref="GatewaySnapshot"/> and replaces it on reload: load and lint, build the engine, router
/// and identity resolver together, swap atomically, and release the old revision after its last request. Reloads
/// run one at a time. Spend survives reloads: every revision shares one spend store.
/// </summary>
internal sealed class GatewayRuntime : IKeeptrustsGatewayRuntime, IAsyncDisposable
{
    private const string InlineSourceName = "<inline configuration>";
    private const string ReloadSourceName = "<reload request>";

    private readonly KeeptrustsGatewayOptions _options;
    private readonly IProviderClientFactory _providers;
    private readonly IReadOnlyList<IDecisionSink> _sinks;
    private readonly IReadOnlyList<IGatewayKeyResolver> _extraKeyResolvers;
    private readonly Func<HttpClient>? _httpClients;
    private readonly IMeterFactory? _meterFactory;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ISpendStore _spendStore;
    private readonly ISharedStateBackendFactory? _sharedStateFactory;
    private readonly IFingerprintStore _localFingerprints;
    private readonly IMemoryStore _localMemory;
    private ISharedStateBackend? _sharedState;
    private bool _sharedStateTried;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly List<Task> _released = [];
    private readonly List<GatewaySnapshot> _retired = [];
    private readonly Lock _releasedGate = new();
    private volatile GatewaySnapshot _current;
    private int _disposed;

    public GatewayRuntime(
        IOptions<KeeptrustsGatewayOptions> options,
        IProviderClientFactory providers,
        IEnumerable<DecisionSinkRegistration> sinks,
        IEnumerable<GatewayKeyResolverRegistration> keyResolvers,
        IServiceProvider services,
        GatewayMetrics metrics,
        ILogger<GatewayRuntime> logger,
        IMeterFactory? meterFactory = null,
        IHttpClientFactory? httpClientFactory = null)
    {
        _options = options.Value;
        _providers = providers;
        _sinks = [.. _options.DecisionSinks, .. sinks.Select(r => r.Resolve(services))];
        _extraKeyResolvers = keyResolvers.Select(r => r.Resolve(services)).ToArray();
        _httpClients = httpClientFactory is null ? null : () => httpClientFactory.CreateClient("Keeptrusts.Identity");
        _meterFactory = meterFactory;
        _metrics = metrics;
        _logger = logger;
        var engineDefaults = new PolicyEngineOptions();
        _options.ConfigureEngine?.Invoke(engineDefaults);
        _sharedStateFactory = services.GetService(typeof(ISharedStateBackendFactory)) as ISharedStateBackendFactory;
        _localFingerprints = FingerprintStores.CreateInProcess(_options.TimeProvider);
        _localMemory = MemoryStores.CreateInProcess(_options.TimeProvider);

        // Spend is shared by the fleet when the first configuration reaches a shared store; it stays where it started
        // for the life of the process, so budgets survive reloads.
        var first = LoadConfigured();
        if (first.Config is { } initial)
        {
            SharedStateFor(initial);
        }

        _spendStore = engineDefaults.SpendStore ?? _sharedState?.SpendStore ?? SpendStores.CreateInMemory();

        var built = Build(first, previous: null);
        if (built.Snapshot is null)
        {
            throw new KeeptrustsGatewayConfigurationException(built.Diagnostics);
        }

        _current = built.Snapshot;
        Report(built.Snapshot);
    }

    public GatewaySnapshot Current => _current;

    /// <summary>Where request fingerprints are recorded: the shared store when there is one, else this process.</summary>
    internal IFingerprintStore Fingerprints => Volatile.Read(ref _sharedState)?.Fingerprints ?? _localFingerprints;

    internal KeeptrustsGatewayOptions Options => _options;

    /// <summary>Takes a lease on the current revision for one request.</summary>
    /// <exception cref="ObjectDisposedException">The gateway is shutting down.</exception>
    public SnapshotLease Acquire()
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var snapshot = _current;
            if (snapshot.TryAcquire())
            {
                return new SnapshotLease(snapshot);
            }

            // Released between the read and the lease: a reload swapped it; the next read sees the new one.
            Thread.Yield();
        }
    }

    public async Task<GatewayReloadResult> ReloadAsync(string? yaml, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previous = _current;
            var load = yaml is null ? LoadConfigured() : PolicyConfigLoader.Parse(yaml, ReloadSourceName);
            if (load.Config is { } config && Revision(config, out var keys) is { } revision && revision == previous.Revision
                && !(_options.PrepareRevision?.Invoke(config) ?? []).Any(static d => d.Severity == DiagnosticSeverity.Error))
            {
                // Unchanged, but prepared again: store references are resolved anew on every reload.
                GatewayLog.ReloadUnchanged(_logger, revision);
                _metrics.Reloaded("unchanged");
                return new GatewayReloadResult { Success = true, Revision = revision, PreviousRevision = revision, Diagnostics = Merge(load.Diagnostics, keys.Diagnostics) };
            }

            cancellationToken.ThrowIfCancellationRequested();
            var built = Build(load, previous);
            if (built.Snapshot is not { } next)
            {
                var errors = built.Diagnostics.Count(static d => d.Severity == DiagnosticSeverity.Error);
                GatewayLog.ReloadRejected(_logger, errors, previous.Revision);
                foreach (var diagnostic in built.Diagnostics)
                {
                    GatewayLog.ConfigFinding(_logger, diagnostic.ToString());
                }

                _metrics.Reloaded("rejected");
                return new GatewayReloadResult { Success = false, Revision = previous.Revision, PreviousRevision = previous.Revision, Diagnostics = built.Diagnostics };
            }

            _current = next;
            lock (_releasedGate)
            {
                _retired.RemoveAll(static s => s.Closed.IsCompleted);
                _retired.Add(previous);
            }

            previous.Retire(_options.DrainTimeout, _options.TimeProvider);
            GatewayLog.Reloaded(_logger, previous.Revision, next.Revision);
            Report(next);
            _metrics.Reloaded("reloaded");
            return new GatewayReloadResult { Success = true, Revision = next.Revision, PreviousRevision = previous.Revision, Diagnostics = built.Diagnostics };
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>The configured files, with the in-memory document layered after them.</summary>
    private PolicyConfigLoadResult LoadConfigured()
    {
        IEnumerable<PolicyConfigSource> inline = _options.ConfigYaml is { } yaml ? [new PolicyConfigSource(InlineSourceName, yaml)] : [];
        return PolicyConfigLoader.LoadFiles(_options.ConfigFiles, inline);
    }

    private static string? Revision(PolicyConfig config, out GatewayKeyLoadResult keys)
    {
        keys = GatewayKeys.LoadLocal(config);
        return keys.Resolver is null ? null : ConfigJson.Revision(config, keys.Fingerprint);
    }

    private (GatewaySnapshot? Snapshot, IReadOnlyList<ConfigDiagnostic> Diagnostics) Build(PolicyConfigLoadResult load, GatewaySnapshot? previous)
    {
        if (load.Config is not { } config)
        {
            return (null, load.Diagnostics);
        }

        var revision = Revision(config, out var keys);
        var diagnostics = Merge(load.Diagnostics, keys.Diagnostics);
        if (revision is null || keys.Resolver is not { } localKeys)
        {
            return (null, diagnostics);
        }

        if (_options.PrepareRevision?.Invoke(config) is { Count: > 0 } prepared)
        {
            diagnostics = Merge(diagnostics, prepared);
            if (prepared.Any(static d => d.Severity == DiagnosticSeverity.Error))
            {
                return (null, diagnostics);
            }
        }

        // Everything that can refuse the configuration is built before the engine: an engine whose audit log waits
        // for the previous revision must not be created only to be thrown away.
        ProviderRouter router;
        try
        {
            var routerOptions = new ProviderRouterOptions
            {
                TimeProvider = _options.TimeProvider,
                MaxConcurrency = _options.MaxConcurrency,
                MeterFactory = _meterFactory,
            };
            _options.ConfigureRouter?.Invoke(routerOptions);
            router = ProviderRouter.Create(config.Providers, _providers, routerOptions);
        }
        catch (ProviderConfigurationException ex)
        {
            return (null, [.. diagnostics, TargetFinding(config, ex.TargetId, ex.Message)]);
        }
        catch (ArgumentException ex)
        {
            return (null, [.. diagnostics, new ConfigDiagnostic("KT2201", DiagnosticSeverity.Error, ex.Message, config.LocationOf("providers.targets"), "providers.targets")]);
        }

        var identityOptions = new RuntimeIdentityOptions
        {
            TimeProvider = _options.TimeProvider,
            GatewayKeyResolver = _extraKeyResolvers.Count == 0 ? localKeys : new CompositeGatewayKeyResolver([localKeys, .. _extraKeyResolvers]),
            HttpClientFactory = _httpClients,
        };
        _options.ConfigureIdentity?.Invoke(identityOptions);
        var identity = RuntimeIdentityResolver.Create(config.RuntimeIdentity, identityOptions);

        var engineOptions = new PolicyEngineOptions { FailMode = _options.FailMode, TimeProvider = _options.TimeProvider };
        foreach (var sink in _sinks)
        {
            engineOptions.Sinks.Add(sink);
        }

        _options.ConfigureEngine?.Invoke(engineOptions);
        engineOptions.SpendStore = _spendStore;

        // The audit log of this revision starts writing only once the previous revision has closed the same file.
        engineOptions.WritesStartAfter = previous?.Closed;
        PolicyEngine engine;
        try
        {
            engine = PolicyEngine.Create(config, engineOptions);
        }
        catch (InvalidOperationException ex)
        {
            // Lint refuses what the engine cannot build; this only guards against the two disagreeing.
            identity.Dispose();
            _ = router.DisposeAsync().AsTask();
            return (null, [.. diagnostics, new ConfigDiagnostic("KT2101", DiagnosticSeverity.Error, ex.Message, config.LocationOf("policies.chain"), "policies.chain")]);
        }

        var rateLimiter = config.DistributedRateLimit is { } limits
            ? SharedStateFor(config)?.CreateRateLimiter(limits.RequestsPerMinute) ?? RequestRateLimiter.CreateInProcess(limits.RequestsPerMinute, _options.TimeProvider)
            : null;
        var memory = config.Memory is { } memoryConfig
            ? new Memory.MemoryRecall(memoryConfig.Backend == MemoryBackend.Valkey && SharedStateFor(config) is { } shared ? shared.Memory : _localMemory, memoryConfig, _options.TimeProvider)
            : null;
        var snapshot = new GatewaySnapshot(config, engine, router, identity, revision, _options.TimeProvider.GetUtcNow(), diagnostics, keys.KeyCount, ReleaseAsync, rateLimiter, memory);
        return (snapshot, diagnostics);
    }

    /// <summary>
    /// The shared store, connected the first time a configuration asks for one (reloads run one at a time, and the
    /// constructor before any). One connection serves every revision; a later change of URL needs a restart.
    /// </summary>
    private ISharedStateBackend? SharedStateFor(PolicyConfig config)
    {
        if (_sharedStateTried || config.DistributedRateLimit is not { } limits)
        {
            return _sharedState;
        }

        _sharedStateTried = true;
        if (_sharedStateFactory is null)
        {
            GatewayLog.RateLimitBackend(_logger, "distributed_rate_limit is configured, but no shared-state backend is registered (Keeptrusts.Valkey); limits, spend and fingerprints are kept per gateway instance");
            return null;
        }

        var sharedOptions = new SharedStateOptions
        {
            TimeProvider = _options.TimeProvider,
            SpendFailMode = _options.FailMode,
            DefaultGateway = config.Pack?.Name,
            OnEvent = e => GatewayLog.RateLimitBackend(_logger, e.Message),
        };
        Volatile.Write(ref _sharedState, _sharedStateFactory.Create(limits, sharedOptions));
        if (_sharedState is { } backend)
        {
            GatewayLog.SharedState(_logger, backend.Description);
        }

        return _sharedState;
    }

    private static ConfigDiagnostic TargetFinding(PolicyConfig config, string targetId, string message)
    {
        var index = -1;
        for (var i = 0; i < config.Providers.Targets.Count; i++)
        {
            if (string.Equals(config.Providers.Targets[i].Id, targetId, StringComparison.OrdinalIgnoreCase))
            {
                index = i;
                break;
            }
        }

        var path = index >= 0 ? $"providers.targets[{index}]" : "providers.targets";
        return new ConfigDiagnostic("KT2202", DiagnosticSeverity.Error, message, config.LocationOf(path), path);
    }

    private static IReadOnlyList<ConfigDiagnostic> Merge(IReadOnlyList<ConfigDiagnostic> first, IReadOnlyList<ConfigDiagnostic> second) =>
        second.Count == 0 ? first : [.. first, .. second];

    private async ValueTask ReleaseAsync(GatewaySnapshot snapshot)
    {
        var task = ReleaseCoreAsync(snapshot);
        lock (_releasedGate)
        {
            _released.RemoveAll(static t => t.IsCompleted);
            _released.Add(task);
        }

        await task.ConfigureAwait(false);
    }

    private async Task ReleaseCoreAsync(GatewaySnapshot snapshot)
    {
        try
        {
            await snapshot.Router.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Releasing goes on with the engine whatever the router did; the failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            GatewayLog.ReleaseFailed(_logger, ex, snapshot.Revision);
        }

        try
        {
            await snapshot.Engine.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A policy that fails to release is logged; the revision is released regardless.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            GatewayLog.ReleaseFailed(_logger, ex, snapshot.Revision);
        }

        snapshot.Identity.Dispose();
        if (snapshot.RateLimiter is { } limiter)
        {
            try
            {
                await limiter.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Closing Valkey connections cannot fail the release; the failure is logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                GatewayLog.ReleaseFailed(_logger, ex, snapshot.Revision);
            }
        }
    }

    private void Report(GatewaySnapshot snapshot)
    {
        GatewayLog.ConfigLoaded(_logger, snapshot.Revision, snapshot.Config.Providers.Targets.Count, snapshot.Config.Policies.Chain.Count, snapshot.Diagnostics.Count);
        foreach (var diagnostic in snapshot.Diagnostics)
        {
            GatewayLog.ConfigFinding(_logger, diagnostic.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Requests still running at shutdown are cancelled at once, so the audit log is flushed and closed now.
        var current = _current;
        current.Retire(Timeout.InfiniteTimeSpan, _options.TimeProvider);
        current.CancelDraining();
        GatewaySnapshot[] retired;
        lock (_releasedGate)
        {
            retired = [.. _retired];
        }

        foreach (var snapshot in retired)
        {
            snapshot.CancelDraining();
        }

        await current.Closed.ConfigureAwait(false);
        Task[] pending;
        lock (_releasedGate)
        {
            pending = [.. _released, .. retired.Select(static s => s.Closed)];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        if (_sharedState is { } shared)
        {
            await shared.DisposeAsync().ConfigureAwait(false);
        }

        _reloadGate.Dispose();
    }
}
