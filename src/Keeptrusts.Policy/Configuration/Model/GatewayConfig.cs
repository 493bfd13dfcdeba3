using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration;

/// <summary>The store behind distributed rate limits.</summary>
public enum RateLimitBackend
{
    /// <summary>Valkey, or any Redis-compatible server (<c>redis</c> is accepted as an alias).</summary>
    [ConfigAlias("redis")]
    Valkey,
}

/// <summary>What a distributed rate limit counts per.</summary>
public enum RateLimitScope
{
    /// <summary>Per caller identity (<c>user_id</c>); requests without one share an anonymous bucket.</summary>
    User,

    /// <summary>Per team, from a gateway key or identity.</summary>
    Team,

    /// <summary>Per gateway key.</summary>
    GatewayKey,

    /// <summary>One bucket for the whole gateway fleet.</summary>
    Global,
}

/// <summary>The <c>distributed_rate_limit</c> section.</summary>
public sealed record DistributedRateLimitConfig
{
    /// <summary><c>valkey</c> (or its alias <c>redis</c>).</summary>
    [ConfigRequired(DiagnosticCodes.UnknownRateLimitBackend)]
    [ConfigInvalidValueCode(DiagnosticCodes.UnknownRateLimitBackend)]
    public RateLimitBackend Backend { get; init; } = RateLimitBackend.Valkey;

    /// <summary>The environment variable holding the <c>redis://</c> connection URL.</summary>
    [ConfigRequired(DiagnosticCodes.RateLimitUrlEnv)]
    public string UrlEnv { get; init; } = string.Empty;

    /// <summary>Requests allowed per minute in each bucket. Default 600.</summary>
    public int RequestsPerMinute { get; init; } = 600;

    /// <summary>What a bucket counts per. Default <c>user</c>.</summary>
    public RateLimitScope Scope { get; init; } = RateLimitScope.User;

    /// <summary>The tenant part of every key (<c>keeptrusts:{tenant}:{org}:{gateway}:…</c>). Default <c>default</c>.</summary>
    public string Tenant { get; init; } = "default";

    /// <summary>The organisation part of every key. Default <c>default</c>.</summary>
    public string Org { get; init; } = "default";

    /// <summary>The gateway part of every key: replicas of one gateway share it. Default the pack name.</summary>
    public string? Gateway { get; init; }
}

/// <summary>What a repeated request gets.</summary>
public enum DuplicateAction
{
    /// <summary>It proceeds, marked <c>duplicate</c> in its decision record.</summary>
    Flag,

    /// <summary>It is refused with 409 (<c>duplicate_request</c>), and recorded as such.</summary>
    Reject,
}

/// <summary>
/// The <c>deduplication</c> section: a request whose fingerprint (caller, model, normalised messages) was seen within
/// the window is a duplicate. Shared by every instance when <c>distributed_rate_limit</c> reaches a store.
/// </summary>
public sealed record DeduplicationConfig
{
    /// <summary>How long a fingerprint is remembered, in seconds (1 to 86400). Default 60.</summary>
    public int WindowSeconds { get; init; } = 60;

    /// <summary>What a duplicate gets. Default <c>flag</c>.</summary>
    public DuplicateAction Action { get; init; } = DuplicateAction.Flag;
}

/// <summary>How a request's identity is established.</summary>
public enum IdentityMode
{
    /// <summary><c>X-User-ID</c> / <c>X-User-Role</c> headers, trusted as hints (default).</summary>
    HeaderSoft,

    /// <summary>A gateway key (<c>kt_gk_…</c>) resolved to owner, team and scope.</summary>
    GatewayKey,

    /// <summary>A signed JWT verified against a JWKS.</summary>
    SignedAssertion,
}

/// <summary>The <c>runtime_identity</c> section.</summary>
public sealed record RuntimeIdentityConfig
{
    /// <summary>The identity mode. Default <c>header_soft</c>.</summary>
    [ConfigInvalidValueCode(DiagnosticCodes.UnknownIdentityMode)]
    public IdentityMode Mode { get; init; } = IdentityMode.HeaderSoft;

    /// <summary>Reject (401) requests without a gateway-key or signed-assertion identity. Default false.</summary>
    public bool RequireVerifiedIdentity { get; init; }

    /// <summary>The JWKS URL signed assertions are verified against; required for <c>signed_assertion</c>.</summary>
    public string? JwksUrl { get; init; }

    /// <summary>The expected <c>iss</c> of signed assertions.</summary>
    public string? Issuer { get; init; }

    /// <summary>The expected <c>aud</c> of signed assertions.</summary>
    public string? Audience { get; init; }

    /// <summary>Gateway keys known locally, by hash. Plaintext keys never appear in configuration.</summary>
    public IReadOnlyList<GatewayKeyEntry> GatewayKeys { get; init; } = [];

    /// <summary>A JSON or YAML file with more gateway key entries, re-read on reload.</summary>
    public string? GatewayKeysFile { get; init; }
}

/// <summary>A gateway key known by its SHA-256 hash.</summary>
public sealed record GatewayKeyEntry
{
    /// <summary>A name for the key, used in records instead of the key.</summary>
    [ConfigRequired(DiagnosticCodes.MissingRequired)]
    public string Id { get; init; } = string.Empty;

    /// <summary>Lowercase hex SHA-256 of the full key (<c>kt_gk_…</c>).</summary>
    [ConfigRequired(DiagnosticCodes.MissingRequired)]
    public string Sha256 { get; init; } = string.Empty;

    /// <summary>The user the key belongs to; becomes <c>user_id</c>.</summary>
    public string? Owner { get; init; }

    /// <summary>The team the key belongs to.</summary>
    public string? Team { get; init; }

    /// <summary>Scopes granted to the key (e.g. <c>admin</c> for the runtime API).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];
}

/// <summary>Where conversation memory is kept.</summary>
public enum MemoryBackend
{
    /// <summary>In this process: each instance remembers what it served.</summary>
    InProcess,

    /// <summary>In Valkey, through the <c>distributed_rate_limit</c> connection, shared by every instance.</summary>
    [ConfigAlias("redis")]
    Valkey,
}

/// <summary>A scope memory is written to and recalled from.</summary>
public enum MemoryScope
{
    /// <summary>The <c>X-Conversation-ID</c> conversation; without the header, the caller's day bucket.</summary>
    Conversation,

    /// <summary>Everything the caller (user id or gateway key) said, across conversations.</summary>
    User,
}

/// <summary>
/// The <c>memory</c> section: each exchange's redacted user and assistant texts are remembered per scope, and each
/// request recalls the recent entries of every scope (in parallel, cached), added to the request within a token budget.
/// </summary>
public sealed record MemoryConfig
{
    /// <summary><c>in_process</c> (default) or <c>valkey</c> (alias <c>redis</c>).</summary>
    public MemoryBackend Backend { get; init; } = MemoryBackend.InProcess;

    /// <summary>The scopes written and recalled. Default <c>[conversation]</c>.</summary>
    public IReadOnlyList<MemoryScope> Scopes { get; init; } = [MemoryScope.Conversation];

    /// <summary>Entries kept per scope (1 to 1000). Default 20.</summary>
    public int MaxEntries { get; init; } = 20;

    /// <summary>The most tokens (estimated at four characters each) recalled entries may add to a request (1 to 100000). Default 1000.</summary>
    public int TokenBudget { get; init; } = 1000;

    /// <summary>How long a scope is kept after its last write, in seconds (60 to 2592000). Default 86400.</summary>
    public int TtlSeconds { get; init; } = 86_400;

    /// <summary>How long a recall result is reused, in seconds (0 to 3600; 0 turns the cache off). Default 60.</summary>
    public int CacheSeconds { get; init; } = 60;

    /// <summary>
    /// When the backend fails: <see langword="true"/> (default) recalls nothing and serves the request;
    /// <see langword="false"/> refuses it with 503 <c>memory_unavailable</c>. After 3 consecutive failures, recall
    /// fails fast for a 10 s cool-down either way.
    /// </summary>
    public bool FailOpen { get; init; } = true;
}
