using Keeptrusts.GatewayHost.ControlPlane;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Valkey;

namespace Keeptrusts.GatewayHost.Cli.Doctor;

/// <summary>
/// The checks behind <c>kt doctor</c>. Network checks never send a billed request: upstreams get
/// <c>GET {base_url}/v1/models</c> without credentials (any HTTP answer, even 401, proves reachability), the control
/// plane <c>GET /health</c>, Valkey <c>PING</c>. Each has its own short timeout, and they run in parallel.
/// </summary>
internal sealed class DoctorChecks
{
    private readonly Func<string, string?> _env;
    private readonly TimeSpan _timeout;
    private readonly HttpClient _http;

    public DoctorChecks(Func<string, string?> env, TimeSpan timeout, HttpClient http)
    {
        _env = env;
        _timeout = timeout;
        _http = http;
    }

    public async Task<IReadOnlyList<DoctorCheck>> RunAsync(IReadOnlyList<string> configFiles, CancellationToken cancellationToken)
    {
        var checks = new List<DoctorCheck>();
        var (config, configChecks) = LoadConfig(configFiles);
        checks.AddRange(configChecks);

        var network = new List<Task<DoctorCheck>>();
        if (config is not null)
        {
            var store = await ResolveStoreAsync(config, cancellationToken).ConfigureAwait(false);
            foreach (var target in config.Providers.Targets)
            {
                checks.Add(Credentials(target, store));
                network.Add(ReachTargetAsync(target, cancellationToken));
            }

            if (config.DistributedRateLimit is { } limit)
            {
                network.Add(PingValkeyAsync(limit, cancellationToken));
            }
        }

        if (Env(GatewayRunSettings.UpstreamUrlVariable) is { } upstream)
        {
            network.Add(ReachUpstreamOverrideAsync(upstream, cancellationToken));
        }

        network.Add(ReachControlPlaneAsync(config, cancellationToken));
        network.Add(EventPipelineAsync(cancellationToken));
        if (Env(GatewayRunSettings.ApiUrlVariable) is not null || Env(RelaySetup.RelayUrlVariable) is not null)
        {
            network.Add(ReachRelayAsync(cancellationToken));
        }
        checks.AddRange(await Task.WhenAll(network).ConfigureAwait(false));
        return checks;
    }

    private static (PolicyConfig? Config, List<DoctorCheck> Checks) LoadConfig(IReadOnlyList<string> files)
    {
        var checks = new List<DoctorCheck>();
        if (files.Count == 0)
        {
            checks.Add(DoctorCheck.Fail("config", $"no configuration: pass --policy-config <path> (or run where {GatewayRunSettings.DefaultConfigFile} is)"));
            return (null, checks);
        }

        var loaded = PolicyConfigLoader.LoadFiles(files);
        var names = string.Join(", ", files);
        var unreadable = loaded.Diagnostics.FirstOrDefault(static d => d.Code is DiagnosticCodes.FileNotFound or DiagnosticCodes.FileUnreadable);
        if (unreadable is not null)
        {
            checks.Add(DoctorCheck.Fail("config", $"{unreadable.Location.File}: {unreadable.Message}"));
            return (null, checks);
        }

        var errors = loaded.Diagnostics.Where(static d => d.Severity == DiagnosticSeverity.Error).ToList();
        var warnings = loaded.Diagnostics.Count - errors.Count;
        var chainErrors = errors.Where(static d => IsChainPath(d.Path)).ToList();
        var otherErrors = errors.Except(chainErrors).ToList();
        if (otherErrors.Count > 0)
        {
            checks.Add(DoctorCheck.Fail("config", $"{Count(otherErrors.Count, "error")} in {names}; first: {otherErrors[0]} (run kt policy lint for all)"));
        }
        else if (warnings > 0)
        {
            var first = loaded.Diagnostics.First(static d => d.Severity == DiagnosticSeverity.Warning);
            checks.Add(DoctorCheck.Warn("config", $"{Count(warnings, "warning")} in {names}; first: {first}"));
        }
        else
        {
            checks.Add(DoctorCheck.Ok("config", $"{names} parses and passes every lint rule"));
        }

        if (chainErrors.Count > 0)
        {
            checks.Add(DoctorCheck.Fail("policy-chain", $"{Count(chainErrors.Count, "error")}; first: {chainErrors[0]}"));
        }
        else if (loaded.Config is { } valid)
        {
            var chain = valid.Policies.Chain;
            checks.Add(DoctorCheck.Ok("policy-chain", chain.Count == 0 ? "no policies in the chain: traffic passes unchecked" : $"{Count(chain.Count, "policy", "policies")}: {string.Join(", ", chain)}"));
        }

        return (loaded.Config, checks);
    }

    /// <summary>Resolves every store name of the configuration in one call, as the gateway would at start-up; values are only counted.</summary>
    private async Task<(HashSet<string> Resolved, HashSet<string> Missing, string? Problem)> ResolveStoreAsync(PolicyConfig config, CancellationToken cancellationToken)
    {
        var names = StoreSecretResolver.References(config).Select(static r => r.Name).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return ([], [], null);
        }

        var client = ControlPlane();
        var resolver = new StoreSecretResolver(client, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) { MaxAttempts = 1, Deadline = _timeout };
        var (values, problem, missing) = await resolver.ResolveAsync(names, cancellationToken).ConfigureAwait(false);
        return (values is null ? [] : values.Keys.ToHashSet(StringComparer.Ordinal), missing, problem);
    }

    private ControlPlaneClient? ControlPlane() =>
        Env(GatewayRunSettings.ApiUrlVariable) is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? new ControlPlaneClient(_http, uri, Env(GatewayRunSettings.GatewayTokenVariable))
            : null;

    /// <summary>"Event pipeline": a test event is accepted by <c>POST /v1/events</c>.</summary>
    private async Task<DoctorCheck> EventPipelineAsync(CancellationToken cancellationToken)
    {
        const string Name = "event-pipeline";
        if (Env(GatewayRunSettings.ApiUrlVariable) is null)
        {
            return DoctorCheck.Ok(Name, $"{GatewayRunSettings.ApiUrlVariable} is not set: no events to report");
        }

        if (ControlPlane() is not { } client)
        {
            return DoctorCheck.Fail(Name, $"{GatewayRunSettings.ApiUrlVariable} is not a usable http or https URL");
        }

        if (Env(GatewayRunSettings.GatewayTokenVariable) is null)
        {
            return DoctorCheck.Fail(Name, $"{GatewayRunSettings.GatewayTokenVariable} is not set: the control plane cannot accept events from this gateway");
        }

        var id = "evt_doctor_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var probe = new
        {
            events = new[]
            {
                new
                {
                    event_id = id,
                    timestamp = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                    request_id = (string?)null,
                    instance_id = "kt-doctor",
                    gateway_version = KtVersion.Informational,
                    type = "doctor_test",
                    user_id = (string?)null,
                    identity_proof_method = "none",
                    decision = "allow",
                    config_revision = (string?)null,
                    findings = Array.Empty<object>(),
                },
            },
        };
        using var answer = await client.PostAsync("/v1/events", probe, _timeout, cancellationToken).ConfigureAwait(false);
        if (answer.Ok)
        {
            return DoctorCheck.Ok(Name, $"a test event ({id}) was accepted");
        }

        return DoctorCheck.Fail(Name, answer.Status is 401 or 403
            ? $"the control plane refused the test event (HTTP {answer.Status}): the gateway token needs the permission events:write"
            : $"the test event was not accepted: {answer.Failure}");
    }

    private DoctorCheck Credentials(ProviderTarget target, (HashSet<string> Resolved, HashSet<string> Missing, string? Problem) store)
    {
        const string Name = "credentials";
        if (IsLocal(target.Provider))
        {
            return DoctorCheck.Ok(Name, "no credential needed", target.Id);
        }

        switch (target.SecretKeyRef)
        {
            case { Env: { Length: > 0 } variable }:
                return Env(variable) is null
                    ? DoctorCheck.Fail(Name, $"{variable} is not set (secret_key_ref.env)", target.Id)
                    : DoctorCheck.Ok(Name, $"{variable} is set", target.Id);
            case { Store: { Length: > 0 } name }:
                if (store.Problem is { } problem)
                {
                    return DoctorCheck.Fail(Name, $"secret_key_ref.store {name}: {problem}", target.Id);
                }

                return store.Resolved.Contains(name)
                    ? DoctorCheck.Ok(Name, $"{name} resolves through the control plane (secret_key_ref.store)", target.Id)
                    : DoctorCheck.Fail(Name, $"the control plane has no config variable {name} (secret_key_ref.store)", target.Id);
            default:
                return NeedsNetwork(target)
                    ? DoctorCheck.Warn(Name, "no secret_key_ref: requests go upstream without a credential", target.Id)
                    : DoctorCheck.Ok(Name, "no credential needed", target.Id);
        }
    }

    private async Task<DoctorCheck> ReachTargetAsync(ProviderTarget target, CancellationToken cancellationToken)
    {
        const string Name = "upstream";
        var provider = target.Provider.Trim();
        if (provider.Equals(ProviderFamilies.Echo, StringComparison.OrdinalIgnoreCase))
        {
            return DoctorCheck.Ok(Name, "echo answers in-process: nothing to reach", target.Id);
        }

        if (provider.StartsWith(ProviderFamilies.FilePrefix, StringComparison.OrdinalIgnoreCase))
        {
            var path = provider[ProviderFamilies.FilePrefix.Length..];
            return File.Exists(path) ? DoctorCheck.Ok(Name, $"{path} exists", target.Id) : DoctorCheck.Fail(Name, $"{path} does not exist", target.Id);
        }

        if (provider.StartsWith(ProviderFamilies.ExecPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return CommandCheck(Name, provider[ProviderFamilies.ExecPrefix.Length..], target.Id);
        }

        if (target.BaseUrl is null)
        {
            return target.AdapterCommand is { } adapter
                ? CommandCheck(Name, adapter, target.Id)
                : DoctorCheck.Warn(Name, "no base_url and no adapter_command: requests to this target cannot be served", target.Id);
        }

        return await ProbeHttpAsync(Name, new Uri(target.BaseUrl), "v1/models", target.Id, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DoctorCheck> ReachUpstreamOverrideAsync(string upstream, CancellationToken cancellationToken)
    {
        const string Name = "upstream-override";
        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.UserInfo.Length > 0)
        {
            return DoctorCheck.Fail(Name, $"{GatewayRunSettings.UpstreamUrlVariable} must be an absolute http or https URL without credentials in it");
        }

        var probe = await ProbeHttpAsync(Name, uri, "v1/models", null, cancellationToken).ConfigureAwait(false);
        return probe.Status == DoctorStatus.Ok
            ? DoctorCheck.Warn(Name, $"{GatewayRunSettings.UpstreamUrlVariable} replaces every configured provider (debug only); {probe.Detail}")
            : probe;
    }

    private async Task<DoctorCheck> ReachControlPlaneAsync(PolicyConfig? config, CancellationToken cancellationToken)
    {
        const string Name = "control-plane";
        var apiUrl = Env(GatewayRunSettings.ApiUrlVariable);
        if (apiUrl is null)
        {
            return DoctorCheck.Ok(Name, $"{GatewayRunSettings.ApiUrlVariable} is not set: standalone, no event reporting");
        }

        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.UserInfo.Length > 0)
        {
            return DoctorCheck.Fail(Name, $"{GatewayRunSettings.ApiUrlVariable} must be an absolute http or https URL without credentials in it");
        }

        var probe = await ProbeHttpAsync(Name, uri, "health", null, cancellationToken).ConfigureAwait(false);
        if (probe.Status != DoctorStatus.Ok)
        {
            return probe;
        }

        if (Env(GatewayRunSettings.GatewayTokenVariable) is null)
        {
            return DoctorCheck.Warn(Name, $"{probe.Detail}; {GatewayRunSettings.GatewayTokenVariable} is not set, so events cannot be reported");
        }

        // Authentication: an unknown token is refused with 401; a known one without events:read gets 403.
        using var answer = await ControlPlane()!.GetAsync("/v1/events?since=1m&limit=1", _timeout, cancellationToken).ConfigureAwait(false);
        return answer.Status switch
        {
            401 => DoctorCheck.Fail(Name, $"{probe.Detail}, but the gateway token is refused (HTTP 401)"),
            _ when answer.Ok || answer.Status == 403 => DoctorCheck.Ok(Name, $"{probe.Detail}; the gateway token is accepted"),
            _ => DoctorCheck.Warn(Name, $"{probe.Detail}; authentication could not be checked: {answer.Failure}"),
        };
    }

    /// <summary>
    /// The relay: what <c>kt gateway run</c> would decide from the environment, then a WebSocket upgrade with the
    /// token (reachable, token accepted). The check does not register: a second registration under the same id
    /// could take the running gateway's traffic. It closes the socket at once with 1000.
    /// </summary>
    private async Task<DoctorCheck> ReachRelayAsync(CancellationToken cancellationToken)
    {
        const string Name = "relay";
        var problems = new List<string>();
        Uri? apiUrl = Env(GatewayRunSettings.ApiUrlVariable) is { } text && Uri.TryCreate(text, UriKind.Absolute, out var parsed) ? parsed : null;
        var (relay, off, warn) = RelaySetup.Resolve(_env, apiUrl, Env(GatewayRunSettings.GatewayTokenVariable), problems);
        if (problems.Count > 0)
        {
            return DoctorCheck.Fail(Name, problems[0]);
        }

        if (relay is null)
        {
            return warn ? DoctorCheck.Warn(Name, $"off: {off}") : DoctorCheck.Ok(Name, $"off: {off}");
        }

        var shown = RelayUrl.Display(relay.Url);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + relay.Token);
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await socket.ConnectAsync(relay.Url, timeout.Token).ConfigureAwait(false);
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "kt doctor", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }

            return DoctorCheck.Ok(Name, $"{shown} accepted the token (registration id {relay.RegistrationId}; registration itself is checked by the running gateway's /health)");
        }
        catch (WebSocketException) when (socket.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return DoctorCheck.Fail(Name, $"{shown}: relay authentication failed ({(int)socket.HttpStatusCode}); check {RelaySetup.ApiTokenVariable}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DoctorCheck.Fail(Name, $"{shown} did not complete the upgrade within {Seconds(_timeout)}");
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
        {
            return DoctorCheck.Fail(Name, socket.HttpStatusCode != 0
                ? string.Create(CultureInfo.InvariantCulture, $"{shown} answered the upgrade with {(int)socket.HttpStatusCode}")
                : $"{shown} is unreachable ({Reason(ex)})");
        }
    }

    private async Task<DoctorCheck> PingValkeyAsync(DistributedRateLimitConfig limit, CancellationToken cancellationToken)
    {
        const string Name = "rate-limit";
        var url = limit.UrlEnv.Length > 0 ? Env(limit.UrlEnv) : null;
        if (url is null)
        {
            return DoctorCheck.Warn(Name, $"{limit.UrlEnv} is not set: limits are counted per gateway instance");
        }

        if (!ValkeyEndpoint.TryParse(url, out var endpoint, out var problem))
        {
            return DoctorCheck.Fail(Name, $"{limit.UrlEnv}: {problem}");
        }

        var (ok, detail) = await ValkeyProbe.PingAsync(endpoint, _timeout, cancellationToken).ConfigureAwait(false);
        return ok ? DoctorCheck.Ok(Name, detail) : DoctorCheck.Warn(Name, $"{detail}; the gateway will fail open (limits, spend and fingerprints per instance)");
    }

    private async Task<DoctorCheck> ProbeHttpAsync(string name, Uri baseUrl, string path, string? target, CancellationToken cancellationToken)
    {
        var probe = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/" + (baseUrl.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal) && path.StartsWith("v1/", StringComparison.Ordinal) ? path[3..] : path));
        var shown = probe.GetLeftPart(UriPartial.Path);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, probe);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var detail = string.Create(CultureInfo.InvariantCulture, $"GET {shown} answered {status}");
            return status >= 500
                ? DoctorCheck.Warn(name, detail + " (reachable, but failing)", target)
                : DoctorCheck.Ok(name, detail, target);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DoctorCheck.Fail(name, $"GET {shown} did not answer within {Seconds(_timeout)}", target);
        }
        catch (HttpRequestException ex)
        {
            return DoctorCheck.Fail(name, $"GET {shown} failed: {Reason(ex)}", target);
        }
    }

    private DoctorCheck CommandCheck(string name, string commandLine, string target)
    {
        var command = commandLine.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? string.Empty;
        if (command.Length == 0)
        {
            return DoctorCheck.Fail(name, "the command is empty", target);
        }

        return FindExecutable(command) is { } path
            ? DoctorCheck.Ok(name, $"{command} found at {path}", target)
            : DoctorCheck.Fail(name, $"{command} is not an executable file or on PATH", target);
    }

    private string? FindExecutable(string command)
    {
        if (command.Contains('/', StringComparison.Ordinal) || command.Contains('\\', StringComparison.Ordinal))
        {
            return File.Exists(command) ? Path.GetFullPath(command) : null;
        }

        foreach (var dir in (Env("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in OperatingSystem.IsWindows() ? new[] { command + ".exe", command + ".cmd", command } : [command])
            {
                var path = Path.Combine(dir, candidate);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    private string? Env(string name) => _env(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static bool NeedsNetwork(ProviderTarget target) => target.BaseUrl is not null;

    private static bool IsLocal(string provider) =>
        provider.Equals(ProviderFamilies.Echo, StringComparison.OrdinalIgnoreCase)
        || provider.StartsWith(ProviderFamilies.FilePrefix, StringComparison.OrdinalIgnoreCase)
        || provider.StartsWith(ProviderFamilies.ExecPrefix, StringComparison.OrdinalIgnoreCase);

    private static bool IsChainPath(string path) =>
        path == "policies" || path.StartsWith("policies.", StringComparison.Ordinal) || path == "policy" || path.StartsWith("policy.", StringComparison.Ordinal);

    private static string Reason(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
                    SocketError.TimedOut => "timed out",
                    var code => code.ToString(),
                };
            }
        }

        return KtCommand.OneLine(ex.Message);
    }

    private static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#} s");

    private static string Count(int n, string noun, string? plural = null) => n == 1 ? $"1 {noun}" : $"{n} {plural ?? noun + "s"}";
}
