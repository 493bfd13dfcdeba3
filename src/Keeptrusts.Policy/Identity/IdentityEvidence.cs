namespace Keeptrusts.Policy.Identity;

/// <summary>What a request presents about its caller, taken from its headers without interpretation.</summary>
public sealed record IdentityEvidence
{
    /// <summary>The <c>Authorization</c> header, as sent.</summary>
    public string? Authorization { get; init; }

    /// <summary>The <c>X-User-ID</c> header, an unverified hint.</summary>
    public string? UserIdHint { get; init; }

    /// <summary>The <c>X-User-Role</c> header, an unverified hint.</summary>
    public string? UserRoleHint { get; init; }
}
