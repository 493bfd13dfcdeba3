using System.Collections.Frozen;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Providers;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.ControlPlane;

/// <summary>
/// <c>secret_key_ref.store</c> for <c>kt gateway run</c>: before a configuration revision is built (start-up and every
/// reload) every store name its targets use is resolved in one <c>POST /v1/config-variables/resolve</c>, retried on
/// transient failures within a deadline. A missing name, a refused token (the permission <c>config_vars:resolve</c>)
/// or no answer refuses the revision with a finding naming the target and the variable. Provider clients read the
/// values from the last good resolution; values are never logged, never in findings, events or the admin API.
/// </summary>
internal sealed partial class StoreSecretResolver(ControlPlaneClient? client, TimeProvider time, ILogger logger) : ISecretResolver
{
    private const string ResolvePath = "/v1/config-variables/resolve";

    private volatile FrozenDictionary<string, string> _values = FrozenDictionary<string, string>.Empty;

    /// <summary>Attempts per resolution. Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The wait before the second attempt (doubled per attempt). Default 500 ms.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The whole resolution, every attempt included, must finish within this. Default 15 s.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Names resolved by the last good resolution.</summary>
    public int Count => _values.Count;

    public ValueTask<string?> ResolveAsync(string name, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_values.GetValueOrDefault(name));

    /// <summary>The <c>PrepareRevision</c> hook: resolves the configuration's store names, or says why not.</summary>
    public IReadOnlyList<ConfigDiagnostic> Prepare(PolicyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var references = References(config);
        if (references.Count == 0)
        {
            return [];
        }

        // The runtime builds revisions synchronously; the resolution is bounded by its deadline.
        var (values, problem, missing) = Task.Run(() => ResolveAsync(references.Select(static r => r.Name).Distinct(StringComparer.Ordinal).ToList(), CancellationToken.None)).GetAwaiter().GetResult();
        if (problem is not null)
        {
            LogResolutionFailed(logger, problem);
            return references.Select(r => Finding(config, r, $"target '{r.TargetId}' uses secret_key_ref.store '{r.Name}', which could not be resolved: {problem}")).Take(1).ToList();
        }

        if (missing.Count > 0)
        {
            return references.Where(r => missing.Contains(r.Name))
                .Select(r => Finding(config, r, $"target '{r.TargetId}' uses secret_key_ref.store '{r.Name}', and the control plane has no config variable '{r.Name}'"))
                .ToList();
        }

        _values = values!.ToFrozenDictionary(StringComparer.Ordinal);
        LogResolved(logger, values!.Count);
        return [];
    }

    /// <summary>Resolves names in one call (retried): the values, or a one-line problem, or the names the control plane lacks.</summary>
    public async Task<(Dictionary<string, string>? Values, string? Problem, HashSet<string> Missing)> ResolveAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            return (null, "KEEPTRUSTS_API_URL is not set, so there is no control plane to resolve it (use secret_key_ref.env, or set KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN)", []);
        }

        using var deadline = new CancellationTokenSource(Deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var backoff = Backoff;
        string? last = null;
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            using var answer = await client.PostAsync(ResolvePath, new { names }, Deadline, linked.Token).ConfigureAwait(false);
            if (answer.Ok)
            {
                return Parse(answer.Json, names);
            }

            if (answer.Status is 401 or 403)
            {
                return (null, $"the control plane refused the gateway token (HTTP {answer.Status}): it needs the permission config_vars:resolve", []);
            }

            last = answer.Failure;
            if (!answer.Transient || attempt == MaxAttempts)
            {
                break;
            }

            try
            {
                await Task.Delay(answer.RetryAfter is { } ra && ra > backoff ? ra : backoff, time, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                last += $"; gave up after {Deadline.TotalSeconds:0.#} s";
                break;
            }

            backoff *= 2;
        }

        return (null, last, []);
    }

    private static (Dictionary<string, string>? Values, string? Problem, HashSet<string> Missing) Parse(JsonDocument? json, IReadOnlyList<string> names)
    {
        if (json is null || json.RootElement.ValueKind != JsonValueKind.Object
            || !json.RootElement.TryGetProperty("variables", out var variables) || variables.ValueKind != JsonValueKind.Object)
        {
            return (null, "the answer has no \"variables\" object", []);
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in variables.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.String)
            {
                values[property.Name] = property.Value.GetString()!;
            }
        }

        var missing = names.Where(n => !values.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);
        return (values, null, missing);
    }

    internal static List<(string TargetId, int Index, string Name)> References(PolicyConfig config)
    {
        var references = new List<(string, int, string)>();
        for (var i = 0; i < config.Providers.Targets.Count; i++)
        {
            var target = config.Providers.Targets[i];
            if (target.SecretKeyRef?.Store is { Length: > 0 } name)
            {
                references.Add((target.Id, i, name));
            }
        }

        return references;
    }

    private static ConfigDiagnostic Finding(PolicyConfig config, (string TargetId, int Index, string Name) reference, string message)
    {
        var path = $"providers.targets[{reference.Index}].secret_key_ref.store";
        return new ConfigDiagnostic(DiagnosticCodes.StoreReferenceUnresolved, DiagnosticSeverity.Error, message, config.LocationOf(path), path);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Config variables: resolved {Count} secret_key_ref.store name(s) through the control plane")]
    private static partial void LogResolved(ILogger logger, int count);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Config variables: resolution failed: {Problem}")]
    private static partial void LogResolutionFailed(ILogger logger, string problem);
}
