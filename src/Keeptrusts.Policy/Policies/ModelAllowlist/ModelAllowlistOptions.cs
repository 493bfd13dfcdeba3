namespace Keeptrusts.Policy.Policies.ModelAllowlist;

/// <summary>The settings of <c>model-allowlist</c> (<c>policy.model-allowlist</c>).</summary>
internal sealed record ModelAllowlistOptions : PolicyOptions
{
    /// <summary>Allowed model ids or globs (<c>*</c>, <c>?</c>), compared case-insensitively. Empty: any model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Allowed provider target ids, compared case-insensitively. Empty: any target.</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];
}
