using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Keeptrusts.ControlPlaneEmulator.Storage;

/// <summary>One event as the emulator holds it: the JSON the gateway sent, when it arrived, and its place in order.</summary>
/// <param name="Sequence">1, 2, 3 … in order of arrival (duplicates by <c>event_id</c> are not stored again).</param>
/// <param name="ReceivedAt">The emulator's clock when the event arrived.</param>
/// <param name="Json">The event object as sent.</param>
public sealed record StoredEvent(long Sequence, DateTimeOffset ReceivedAt, JsonObject Json)
{
    /// <summary>The event's <c>event_id</c>, if it has one.</summary>
    public string? EventId => Json["event_id"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string?)Json["event_id"] : null;

    /// <summary>The event's <c>request_id</c>, if it has one.</summary>
    public string? RequestId => Json["request_id"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string?)Json["request_id"] : null;
}

/// <summary>A gateway key the emulator resolves; the raw key is stored only as its SHA-256.</summary>
public sealed record GatewayKeyRecord
{
    /// <summary>Lower-case hex of the SHA-256 of the raw key.</summary>
    public required string KeySha256 { get; init; }

    /// <summary>The key's id (never the key).</summary>
    public required string KeyId { get; init; }

    /// <summary>Who the key belongs to.</summary>
    public string? Owner { get; init; }

    /// <summary>The owner's team.</summary>
    public string? Team { get; init; }

    /// <summary>What the key may do.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Changes whenever the tenant's configuration or variables change.</summary>
    public required string ConfigVersion { get; init; }

    /// <summary>The tenant's policy-config.yaml text.</summary>
    public required string PolicyConfig { get; init; }

    /// <summary>The tenant's config variables (credentials for its <c>secret_key_ref.store</c> references).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Lower-case hex SHA-256 of a raw key, as the gateway computes it.</summary>
    public static string Hash(string rawKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rawKey)));
}

/// <summary>An API token the emulator accepts and what it may do.</summary>
/// <param name="Token">The bearer token.</param>
/// <param name="Permissions">e.g. <c>events:write</c>, <c>events:read</c>, <c>config_vars:resolve</c>, <c>gateway_keys:resolve</c>.</param>
public sealed record ApiToken(string Token, IReadOnlySet<string> Permissions);

/// <summary>
/// Everything the emulator holds, in memory and thread-safe: events (deduplicated by <c>event_id</c>), config
/// variables, gateway keys and API tokens. With no tokens configured every request is accepted.
/// </summary>
public sealed class EmulatorStore
{
    private readonly Lock _gate = new();
    private readonly List<StoredEvent> _events = [];
    private readonly HashSet<string> _eventIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _variables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GatewayKeyRecord> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ApiToken> _tokens = new(StringComparer.Ordinal);
    private long _duplicates;
    private long _eventPosts;
    private long _keyResolutions;
    private long _variableResolutions;

    /// <summary>Creates an empty store on a clock.</summary>
    public EmulatorStore(TimeProvider time) => Time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>The clock of arrival times.</summary>
    public TimeProvider Time { get; }

    /// <summary>Events received more than once (same <c>event_id</c>) and not stored again.</summary>
    public long DuplicateEvents => Interlocked.Read(ref _duplicates);

    /// <summary><c>POST /v1/events</c> calls accepted.</summary>
    public long EventPosts => Interlocked.Read(ref _eventPosts);

    /// <summary><c>POST /v1/gateway-keys/resolve</c> calls answered (found or not).</summary>
    public long KeyResolutions => Interlocked.Read(ref _keyResolutions);

    /// <summary><c>POST /v1/config-variables/resolve</c> calls answered.</summary>
    public long VariableResolutions => Interlocked.Read(ref _variableResolutions);

    /// <summary>Stores events in order, dropping any whose <c>event_id</c> was seen before. Returns how many were new.</summary>
    public int AddEvents(IEnumerable<JsonObject> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        Interlocked.Increment(ref _eventPosts);
        var now = Time.GetUtcNow();
        var added = 0;
        lock (_gate)
        {
            foreach (var e in events)
            {
                var stored = new StoredEvent(_events.Count + 1, now, e);
                if (stored.EventId is { } id && !_eventIds.Add(id))
                {
                    _duplicates++;
                    continue;
                }

                _events.Add(stored);
                added++;
            }
        }

        return added;
    }

    /// <summary>A copy of every stored event, in order of arrival.</summary>
    public IReadOnlyList<StoredEvent> Events()
    {
        lock (_gate)
        {
            return [.. _events];
        }
    }

    /// <summary>Events after <paramref name="afterSequence"/> that arrived at or after <paramref name="since"/>.</summary>
    public IReadOnlyList<StoredEvent> Query(long afterSequence, DateTimeOffset? since, string? gatewayName, int limit, out long lastSequence)
    {
        var result = new List<StoredEvent>(Math.Min(limit, 256));
        lock (_gate)
        {
            lastSequence = _events.Count;
            for (var i = (int)Math.Min(afterSequence, _events.Count); i < _events.Count && result.Count < limit; i++)
            {
                var e = _events[i];
                if (since is { } s && e.ReceivedAt < s)
                {
                    continue;
                }

                if (gatewayName is not null && !string.Equals((string?)e.Json["gateway_name"], gatewayName, StringComparison.Ordinal))
                {
                    continue;
                }

                result.Add(e);
            }
        }

        return result;
    }

    /// <summary>Removes every stored event.</summary>
    public void ClearEvents()
    {
        lock (_gate)
        {
            _events.Clear();
            _eventIds.Clear();
        }
    }

    /// <summary>Sets (or replaces) a config variable.</summary>
    public void SetVariable(string name, string value)
    {
        lock (_gate)
        {
            _variables[name] = value;
        }
    }

    /// <summary>Resolves names: the values found and the names that are not set.</summary>
    public (Dictionary<string, string> Found, List<string> Missing) ResolveVariables(IEnumerable<string> names)
    {
        Interlocked.Increment(ref _variableResolutions);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        lock (_gate)
        {
            foreach (var name in names)
            {
                if (_variables.TryGetValue(name, out var value))
                {
                    found[name] = value;
                }
                else if (!missing.Contains(name))
                {
                    missing.Add(name);
                }
            }
        }

        return (found, missing);
    }

    /// <summary>Adds or replaces a gateway key (matched by its hash).</summary>
    public void SetGatewayKey(GatewayKeyRecord key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            _keys[key.KeySha256] = key;
        }
    }

    /// <summary>Removes a gateway key by its hash.</summary>
    public bool RemoveGatewayKey(string keySha256)
    {
        lock (_gate)
        {
            return _keys.Remove(keySha256);
        }
    }

    /// <summary>Finds a gateway key by the SHA-256 of the raw key.</summary>
    public GatewayKeyRecord? FindGatewayKey(string keySha256)
    {
        Interlocked.Increment(ref _keyResolutions);
        lock (_gate)
        {
            return _keys.GetValueOrDefault(keySha256);
        }
    }

    /// <summary>Accepts <paramref name="token"/> with the given permissions; once any token is set, others are refused.</summary>
    public void AddToken(string token, IEnumerable<string> permissions)
    {
        lock (_gate)
        {
            _tokens[token] = new ApiToken(token, new HashSet<string>(permissions, StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// Whether a bearer token may use <paramref name="permission"/>: 200 (yes), 401 (no or unknown token), 403
    /// (a known token without the permission). With no tokens configured everything is allowed.
    /// </summary>
    public int Authorize(string? bearer, string permission)
    {
        lock (_gate)
        {
            if (_tokens.Count == 0)
            {
                return 200;
            }

            if (bearer is null || !_tokens.TryGetValue(bearer, out var token))
            {
                return 401;
            }

            return token.Permissions.Contains(permission) ? 200 : 403;
        }
    }
}
