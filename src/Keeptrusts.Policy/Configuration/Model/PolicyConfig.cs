using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration;

/// <summary>
/// A loaded <c>policy-config.yaml</c>: the one document every Keeptrusts surface enforces. Immutable; a change
/// of configuration is a whole new instance. Load one with <see cref="PolicyConfigLoader"/>.
/// </summary>
public sealed record PolicyConfig
{
    /// <summary>The pack: the name and version under which decisions are recorded.</summary>
    [ConfigRequired(DiagnosticCodes.PackMissing)]
    public PackInfo? Pack { get; init; }

    /// <summary>The policy chain: which policies run, in which order.</summary>
    public PolicyChainConfig Policies { get; init; } = new();

    /// <summary>Per-policy settings, keyed by the policy id used in the chain (compared case-insensitively).</summary>
    public IReadOnlyDictionary<string, PolicySettings> Policy { get; init; } = EmptyPolicies;

    /// <summary>Provider targets and how requests are routed among them.</summary>
    public ProvidersConfig Providers { get; init; } = new();

    /// <summary>Rate limits shared by every gateway instance through Valkey; <see langword="null"/> when not configured.</summary>
    public DistributedRateLimitConfig? DistributedRateLimit { get; init; }

    /// <summary>How callers prove who they are.</summary>
    public RuntimeIdentityConfig RuntimeIdentity { get; init; } = new();

    /// <summary>Request fingerprint de-duplication; <see langword="null"/> when not configured.</summary>
    public DeduplicationConfig? Deduplication { get; init; }

    /// <summary>Conversation continuity and memory recall; <see langword="null"/> when not configured.</summary>
    public MemoryConfig? Memory { get; init; }

    /// <summary>The merged document the model was bound from, with source positions.</summary>
    internal ConfigMapping? Root { get; init; }

    /// <summary>
    /// Where a document path (such as <c>providers.targets[1].secret_key_ref</c>) was written, for findings made after
    /// loading (a target whose credential is missing at start-up). Points at the nearest existing ancestor when the
    /// path itself is not written; at no file when the configuration was not loaded from text.
    /// </summary>
    /// <param name="path">The document path.</param>
    /// <returns>The location.</returns>
    public SourceLocation LocationOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Root is { } root ? new Linting.LintContext(this, root, []).LocationOf(path) : SourceLocation.OfFile("<configuration>");
    }

    private static readonly IReadOnlyDictionary<string, PolicySettings> EmptyPolicies =
        new Dictionary<string, PolicySettings>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>The <c>pack</c> section: identifies the configuration in decision records and events.</summary>
public sealed record PackInfo
{
    /// <summary>The pack name: lowercase letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, starting with a letter or digit.</summary>
    [ConfigRequired(DiagnosticCodes.PackName)]
    public string Name { get; init; } = string.Empty;

    /// <summary>The pack version, a semantic version such as <c>0.1.0</c>.</summary>
    [ConfigRequired(DiagnosticCodes.PackVersion)]
    public string Version { get; init; } = string.Empty;

    /// <summary>Whether the pack is enforced. A disabled pack passes traffic through unchanged and records that it did.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>A free-text description.</summary>
    public string? Description { get; init; }
}

/// <summary>The <c>policies</c> section.</summary>
public sealed record PolicyChainConfig
{
    /// <summary>Policy ids in evaluation order. A block short-circuits the rest.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];
}

/// <summary>Whether a policy's verdicts are enforced or only recorded.</summary>
public enum PolicyMode
{
    /// <summary>Verdicts are enforced (the default).</summary>
    Enforce,

    /// <summary>The policy is evaluated and its verdicts recorded, but it never changes or blocks a request.</summary>
    Monitor,
}

/// <summary>
/// The settings block of one policy (<c>policy.&lt;id&gt;</c>). Keys other than <c>mode</c> belong to the policy,
/// which validates and binds them itself.
/// </summary>
[ConfigOpen]
public sealed record PolicySettings
{
    /// <summary><c>enforce</c> (default) or <c>monitor</c>.</summary>
    public PolicyMode Mode { get; init; } = PolicyMode.Enforce;

    /// <summary>The whole settings block as written, with source positions.</summary>
    public ConfigMapping Settings { get; init; } = new(default, []);
}
