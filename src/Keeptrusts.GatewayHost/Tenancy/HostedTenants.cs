using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Keeptrusts.AspNetCore;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.GatewayHost.ControlPlane;
using Keeptrusts.GatewayHost.Reporting;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Tenancy;

/// <summary>Settings of hosted mode.</summary>
internal sealed record HostedTenantOptions
{
    /// <summary>How long a resolution is used before it is asked for again. Default 60 s.</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the last good resolution keeps serving while the control plane fails. Default 10 minutes.</summary>
    public TimeSpan ServeStaleFor { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>While the control plane fails, how long before a key is asked for again. Default 5 s.</summary>
    public TimeSpan RetryFailedAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The most keys kept; past it the least recently used tenant is released. Default 1,000.</summary>
    public int MaxTenants { get; init; } = 1000;

    /// <summary>Timeout of one resolution call. Default 10 s.</summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>Retry-After</c> of a 503 when no good resolution is left. Default 30 s.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long requests on a replaced tenant configuration may run before they are cancelled. Default 5 minutes.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public FailMode FailMode { get; init; } = FailMode.Block;

    public int MaxConcurrency { get; init; } = ProviderRouterOptions.DefaultMaxConcurrency;

    /// <summary>Credential header settings shared by every tenant's provider clients.</summary>
    public string? ApiKeyHeader { get; init; }

    public string? ApiKeyPrefix { get; init; }

    public string InstanceId { get; init; } = InstanceIds.New();
}

/// <summary>One tenant as the admin API shows it: ids and revision, never the key, the configuration or a variable.</summary>
internal sealed record TenantView(string KeyId, string? Owner, string? Team, string? ConfigVersion, string? Revision, string State, DateTimeOffset? LoadedAt, DateTimeOffset? ResolvedAt);

/// <summary>
/// Hosted mode (<c>kt gateway run</c> with a control plane and no configuration of its own): the caller's gateway key
/// (<c>Authorization: Bearer kt_gk_...</c>) is hashed (SHA-256; the key never leaves the gateway), resolved through
/// <c>POST /v1/gateway-keys/resolve</c>, and the tenant's engine, router and identity are built from its
/// <c>policy_config</c> with its <c>variables</c> as credentials — once per <c>config_version</c>, reused until that
/// changes. Resolutions are cached (<see cref="HostedTenantOptions.CacheTtl"/>, bounded count, one call in flight per
/// key); while the control plane fails the last good resolution serves for <see cref="HostedTenantOptions.ServeStaleFor"/>,
/// then 503 with <c>Retry-After</c>. A bad answer for one key (not JSON, over 1 MiB, a configuration with errors)
/// answers that key's callers 503 <c>tenant_config_invalid</c> and touches nothing else. Each tenant has its own
/// snapshot, spend store, limiter and event stamp: nothing is shared between tenants.
/// </summary>
internal sealed partial class HostedTenants(
    ControlPlaneClient client,
    HostedTenantOptions options,
    ControlPlaneEventSink? events,
    TimeProvider time,
    ILoggerFactory loggers,
    IMeterFactory? meters = null) : IHostedTenants, IAsyncDisposable
{
    private const string ResolvePath = "/v1/gateway-keys/resolve";

    /// <summary>The gateway's own configuration in hosted mode: no policies, no targets; it serves /health and the runtime API.</summary>
    public const string PlaceholderConfig = """
        pack: { name: hosted, version: 0.0.0, description: "hosted mode: each gateway key brings its own configuration" }
        policies:
          chain: []
        providers:
          targets: []
        """;

    private readonly ConcurrentDictionary<string, Tenant> _tenants = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<HostedTenants>();
    private long _resolutions;
    private long _builds;
    private int _disposed;

    private TimeProvider Time => time;

    private HostedTenantOptions Options => options;

    /// <summary>Calls made to the control plane to resolve keys.</summary>
    public long Resolutions => Interlocked.Read(ref _resolutions);

    /// <summary>Tenant snapshots built (a new key or a new <c>config_version</c>).</summary>
    public long Builds => Interlocked.Read(ref _builds);

    public async ValueTask<TenantAcquisition> AcquireAsync(HttpContext http, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var header = http.Request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (key is null || !GatewayKeys.IsGatewayKey(key))
        {
            return TenantAcquisition.Refuse(StatusCodes.Status401Unauthorized, "this gateway serves many tenants: send your gateway key as Authorization: Bearer kt_gk_...", "invalid_api_key");
        }

        var hash = GatewayKeys.Hash(key);
        var tenant = _tenants.GetOrAdd(hash, static h => new Tenant(h));
        tenant.Touch(time.GetTimestamp());
        if (_tenants.Count > options.MaxTenants)
        {
            Evict();
        }

        var state = await tenant.GetAsync(this, cancellationToken).ConfigureAwait(false);
        switch (state.Kind)
        {
            case TenantStateKind.Ready:
                while (true)
                {
                    var snapshot = state.Snapshot!;
                    if (snapshot.TryAcquire())
                    {
                        return TenantAcquisition.Of(new SnapshotLease(snapshot));
                    }

                    // Replaced between the read and the lease: read the tenant's current state again.
                    state = await tenant.GetAsync(this, cancellationToken).ConfigureAwait(false);
                    if (state.Kind != TenantStateKind.Ready)
                    {
                        return Refusal(state);
                    }
                }

            default:
                return Refusal(state);
        }
    }

    private TenantAcquisition Refusal(TenantState state) => state.Kind switch
    {
        TenantStateKind.Unknown => TenantAcquisition.Refuse(StatusCodes.Status401Unauthorized, "the gateway key is not known", "invalid_api_key"),
        TenantStateKind.Invalid => TenantAcquisition.Refuse(StatusCodes.Status503ServiceUnavailable, "this gateway key's configuration from the control plane is invalid; its owner must fix it (the gateway log lists the findings)", "tenant_config_invalid", options.RetryAfter),
        _ => TenantAcquisition.Refuse(StatusCodes.Status503ServiceUnavailable, "the control plane cannot resolve this gateway key right now; retry later", "control_plane_unavailable", options.RetryAfter),
    };

    /// <summary>Every tenant, for the admin API.</summary>
    public IReadOnlyList<TenantView> Views() =>
        _tenants.Values.Select(static t => t.View()).Where(static v => v is not null).Select(static v => v!).OrderBy(static v => v.KeyId, StringComparer.Ordinal).ToList();

    private void Evict()
    {
        var excess = _tenants.Count - options.MaxTenants;
        foreach (var (hash, tenant) in _tenants.OrderBy(static p => p.Value.LastUsed).Take(Math.Max(excess, 0)).ToList())
        {
            if (_tenants.TryRemove(hash, out _))
            {
                tenant.Release(options.DrainTimeout, time);
            }
        }
    }

    private async Task<TenantState> ResolveAsync(Tenant tenant, TenantState? previous, DateTimeOffset? lastGood)
    {
        Interlocked.Increment(ref _resolutions);
        var now = time.GetUtcNow();
        using var answer = await client.PostAsync(ResolvePath, new { key_sha256 = tenant.Hash }, options.ResolveTimeout, CancellationToken.None).ConfigureAwait(false);
        if (answer.Status == StatusCodes.Status404NotFound)
        {
            return TenantState.Of(TenantStateKind.Unknown, now);
        }

        if (answer.Malformed)
        {
            LogTenantInvalid(_logger, tenant.Label, answer.Failure!);
            return TenantState.Of(TenantStateKind.Invalid, now);
        }

        if (!answer.Ok)
        {
            LogResolveFailed(_logger, tenant.Label, answer.Failure!);
            if (previous is { Kind: TenantStateKind.Ready } && lastGood is { } good && now - good <= options.ServeStaleFor)
            {
                // Serve the last good configuration; ask again shortly.
                return previous with { FetchedAt = now - options.CacheTtl + options.RetryFailedAfter, Answered = false };
            }

            return TenantState.Of(TenantStateKind.Unavailable, now - options.CacheTtl + options.RetryFailedAfter);
        }

        if (!TryParse(answer.Json, out var resolution, out var problem))
        {
            LogTenantInvalid(_logger, tenant.Label, problem);
            return TenantState.Of(TenantStateKind.Invalid, now);
        }

        tenant.Label = resolution.KeyId;
        if (previous is { Kind: TenantStateKind.Ready, Snapshot: { } current } && previous.Resolution!.ConfigVersion == resolution.ConfigVersion
            && previous.Resolution.SameIdentityAs(resolution))
        {
            return previous with { FetchedAt = now, Resolution = resolution, Answered = true };
        }

        var (snapshot, findings) = Build(tenant, resolution);
        if (snapshot is null)
        {
            foreach (var finding in findings)
            {
                LogTenantFinding(_logger, resolution.KeyId, finding);
            }

            LogTenantInvalid(_logger, resolution.KeyId, $"configuration version {resolution.ConfigVersion} has {findings.Count} error(s)");
            return TenantState.Of(TenantStateKind.Invalid, now) with { Resolution = resolution };
        }

        Interlocked.Increment(ref _builds);
        LogTenantLoaded(_logger, resolution.KeyId, resolution.ConfigVersion, snapshot.Revision);
        return new TenantState(TenantStateKind.Ready, now, snapshot, resolution, Answered: true);
    }

    private static bool TryParse(JsonDocument? json, out TenantResolution resolution, out string problem)
    {
        resolution = null!;
        problem = "the answer is not an object with key_id, config_version and policy_config";
        if (json is null || json.RootElement.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var root = json.RootElement;
        var keyId = ControlPlaneClient.String(root, "key_id");
        var yaml = ControlPlaneClient.String(root, "policy_config");
        var version = root.TryGetProperty("config_version", out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
        if (string.IsNullOrEmpty(keyId) || yaml is null || string.IsNullOrEmpty(version))
        {
            return false;
        }

        var scopes = new List<string>();
        if (root.TryGetProperty("scopes", out var s) && s.ValueKind == JsonValueKind.Array)
        {
            scopes.AddRange(s.EnumerateArray().Where(static e => e.ValueKind == JsonValueKind.String).Select(static e => e.GetString()!));
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("variables", out var vars) && vars.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in vars.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String)
                {
                    variables[p.Name] = p.Value.GetString()!;
                }
            }
        }

        resolution = new TenantResolution(keyId, ControlPlaneClient.String(root, "owner"), ControlPlaneClient.String(root, "team"), scopes, version, yaml, variables);
        return true;
    }

    private (GatewaySnapshot? Snapshot, IReadOnlyList<string> Findings) Build(Tenant tenant, TenantResolution resolution)
    {
        var load = PolicyConfigLoader.Parse(resolution.PolicyConfig, $"<tenant {resolution.KeyId} config {resolution.ConfigVersion}>");
        var errors = load.Diagnostics.Where(static d => d.Severity == DiagnosticSeverity.Error).Select(static d => d.ToString()).ToList();
        if (load.Config is not { } config || errors.Count > 0)
        {
            return (null, errors.Count > 0 ? errors : ["the configuration did not load"]);
        }

        // Per-tenant configurations come from the control plane: nothing in them may reach the gateway's own machine.
        var refused = new List<string>();
        for (var i = 0; i < config.Providers.Targets.Count; i++)
        {
            var provider = config.Providers.Targets[i].Provider.Trim();
            if (provider.StartsWith("exec:", StringComparison.OrdinalIgnoreCase) || provider.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                refused.Add($"providers.targets[{i}]: provider '{provider}' runs on the gateway's machine and is not available to hosted tenants");
            }
        }

        if (config.Policies.Chain.Contains("audit-logger", StringComparer.OrdinalIgnoreCase))
        {
            refused.Add("policies.chain: audit-logger writes files on the gateway's machine and is not available to hosted tenants; their decisions reach the control plane as events");
        }

        if (refused.Count > 0)
        {
            return (null, refused);
        }

        // The tenant's identity is its gateway key: owner and team, verified (identity_proof_method gateway_key).
        config = config with
        {
            RuntimeIdentity = new RuntimeIdentityConfig
            {
                Mode = IdentityMode.GatewayKey,
                RequireVerifiedIdentity = true,
                GatewayKeys = [new GatewayKeyEntry { Id = resolution.KeyId, Sha256 = tenant.Hash, Owner = resolution.Owner ?? resolution.KeyId, Team = resolution.Team, Scopes = resolution.Scopes }],
            },
        };
        var keys = GatewayKeys.LoadLocal(config);
        if (keys.Resolver is not { } keyResolver)
        {
            return (null, keys.Diagnostics.Select(static d => d.ToString()).ToList());
        }

        // The tenant's variables are its only credentials: env and store references both read them, never the process environment.
        var variables = resolution.Variables;
        var providers = ProviderClientFactory.Create(new ProviderClientOptions
        {
            SecretResolver = new VariablesResolver(variables),
            EnvironmentVariableReader = name => variables.GetValueOrDefault(name),
            ApiKeyHeader = options.ApiKeyHeader,
            ApiKeyPrefix = options.ApiKeyPrefix,
            TimeProvider = time,
            LoggerFactory = loggers,
        });
        ProviderRouter router;
        try
        {
            router = ProviderRouter.Create(config.Providers, providers, new ProviderRouterOptions { TimeProvider = time, MaxConcurrency = options.MaxConcurrency, MeterFactory = meters });
        }
        catch (Exception ex) when (ex is ProviderConfigurationException or ArgumentException)
        {
            return (null, [ex.Message]);
        }

        var identity = RuntimeIdentityResolver.Create(config.RuntimeIdentity, new RuntimeIdentityOptions { TimeProvider = time, GatewayKeyResolver = keyResolver });
        var engineOptions = new PolicyEngineOptions { FailMode = options.FailMode, TimeProvider = time, SpendStore = tenant.Spend };
        if (events is not null)
        {
            engineOptions.Sinks.Add(events.ForTenant(new EventTenant(resolution.KeyId, resolution.Team)));
        }

        PolicyEngine engine;
        try
        {
            engine = PolicyEngine.Create(config, engineOptions);
        }
        catch (InvalidOperationException ex)
        {
            identity.Dispose();
            _ = router.DisposeAsync().AsTask();
            return (null, [ex.Message]);
        }

        var limiter = config.DistributedRateLimit is { } limits ? RequestRateLimiter.CreateInProcess(limits.RequestsPerMinute, time) : null;
        var revision = $"{resolution.KeyId}@{resolution.ConfigVersion}";
        return (new GatewaySnapshot(config, engine, router, identity, revision, time.GetUtcNow(), load.Diagnostics, 1, ReleaseAsync, limiter), []);
    }

    private async ValueTask ReleaseAsync(GatewaySnapshot snapshot)
    {
        try
        {
            await snapshot.Router.DisposeAsync().ConfigureAwait(false);
            await snapshot.Engine.DisposeAsync().ConfigureAwait(false);
            if (snapshot.RateLimiter is { } limiter)
            {
                await limiter.DisposeAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Releasing a tenant's revision never fails the gateway; it is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogReleaseFailed(_logger, snapshot.Revision, ex.Message);
        }
        finally
        {
            snapshot.Identity.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var closing = new List<Task>();
        foreach (var tenant in _tenants.Values)
        {
            closing.AddRange(tenant.Release(TimeSpan.Zero, time));
        }

        _tenants.Clear();
        await Task.WhenAll(closing).ConfigureAwait(false);
    }

    private sealed class VariablesResolver(IReadOnlyDictionary<string, string> variables) : ISecretResolver
    {
        public ValueTask<string?> ResolveAsync(string name, CancellationToken cancellationToken) => ValueTask.FromResult(variables.GetValueOrDefault(name));
    }

    internal enum TenantStateKind
    {
        Ready,
        Unknown,
        Invalid,
        Unavailable,
    }

    internal sealed record TenantResolution(string KeyId, string? Owner, string? Team, IReadOnlyList<string> Scopes, string ConfigVersion, string PolicyConfig, IReadOnlyDictionary<string, string> Variables)
    {
        public bool SameIdentityAs(TenantResolution other) =>
            Owner == other.Owner && Team == other.Team && Scopes.SequenceEqual(other.Scopes)
            && Variables.Count == other.Variables.Count && Variables.All(p => other.Variables.TryGetValue(p.Key, out var v) && v == p.Value);
    }

    internal sealed record TenantState(TenantStateKind Kind, DateTimeOffset FetchedAt, GatewaySnapshot? Snapshot = null, TenantResolution? Resolution = null, bool Answered = false)
    {
        public static TenantState Of(TenantStateKind kind, DateTimeOffset fetchedAt) => new(kind, fetchedAt);
    }

    /// <summary>One key's cache entry: the current state, the refresh in flight (at most one), and what outlives a configuration version.</summary>
    private sealed class Tenant(string hash)
    {
        private readonly Lock _gate = new();
        private TenantState? _state;
        private Task<TenantState>? _refresh;
        private DateTimeOffset? _lastGood;
        private long _lastUsed;

        public string Hash { get; } = hash;

        /// <summary>The key id once known; until then a prefix of the hash (never the key).</summary>
        public string Label { get; set; } = "sha256:" + hash[..12];

        /// <summary>Spend outlives configuration versions of one tenant and is never shared with another.</summary>
        public ISpendStore Spend { get; } = SpendStores.CreateInMemory();

        public long LastUsed => Interlocked.Read(ref _lastUsed);

        public void Touch(long timestamp) => Interlocked.Exchange(ref _lastUsed, timestamp);

        public async Task<TenantState> GetAsync(HostedTenants owner, CancellationToken cancellationToken)
        {
            Task<TenantState> refresh;
            lock (_gate)
            {
                if (_state is { } state && owner.Time.GetUtcNow() - state.FetchedAt < owner.Options.CacheTtl)
                {
                    return state;
                }

                refresh = _refresh ??= RefreshAsync(owner, _state, _lastGood);
            }

            return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        private async Task<TenantState> RefreshAsync(HostedTenants owner, TenantState? previous, DateTimeOffset? lastGood)
        {
            await Task.Yield();
            TenantState next;
            try
            {
                next = await owner.ResolveAsync(this, previous, lastGood).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One tenant's failure never reaches another tenant or the gateway: it is that tenant's 503.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogUnexpected(owner._logger, Label, ex);
                next = TenantState.Of(TenantStateKind.Invalid, owner.Time.GetUtcNow());
            }

            GatewaySnapshot? retired = null;
            lock (_gate)
            {
                if (next is { Kind: TenantStateKind.Ready, Answered: true })
                {
                    _lastGood = next.FetchedAt;
                }

                if (previous?.Snapshot is { } old && !ReferenceEquals(old, next.Snapshot)
                    && (next.Kind != TenantStateKind.Unavailable))
                {
                    retired = old;
                }

                // An outage keeps the old snapshot for when the control plane answers again.
                _state = next.Kind == TenantStateKind.Unavailable && previous?.Snapshot is not null ? next with { Snapshot = previous.Snapshot, Resolution = previous.Resolution } : next;
                _refresh = null;
            }

            retired?.Retire(owner.Options.DrainTimeout, owner.Time);
            return next;
        }

        public TenantView? View()
        {
            lock (_gate)
            {
                if (_state is not { } state)
                {
                    return null;
                }

                var name = state.Kind.ToString().ToLowerInvariant();
                return new TenantView(state.Resolution?.KeyId ?? Label, state.Resolution?.Owner, state.Resolution?.Team, state.Resolution?.ConfigVersion, state.Snapshot?.Revision, name, state.Snapshot?.LoadedAt, state.FetchedAt);
            }
        }

        public IEnumerable<Task> Release(TimeSpan drain, TimeProvider time)
        {
            GatewaySnapshot? snapshot;
            lock (_gate)
            {
                snapshot = _state?.Snapshot;
                _state = null;
            }

            if (snapshot is null)
            {
                return [];
            }

            snapshot.Retire(drain, time);
            return [snapshot.Closed];
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Hosted tenant {KeyId}: configuration version {ConfigVersion} loaded as revision {Revision}")]
    private static partial void LogTenantLoaded(ILogger logger, string keyId, string configVersion, string revision);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Hosted tenant {KeyId}: the control plane's configuration is refused: {Problem}")]
    private static partial void LogTenantInvalid(ILogger logger, string keyId, string problem);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Hosted tenant {KeyId}: {Finding}")]
    private static partial void LogTenantFinding(ILogger logger, string keyId, string finding);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Hosted tenant {KeyId}: resolving the gateway key failed: {Problem}")]
    private static partial void LogResolveFailed(ILogger logger, string keyId, string problem);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Error, Message = "Hosted tenant {KeyId}: resolution failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, string keyId, Exception exception);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "Hosted tenant revision {Revision}: releasing failed: {Problem}")]
    private static partial void LogReleaseFailed(ILogger logger, string revision, string problem);
}
