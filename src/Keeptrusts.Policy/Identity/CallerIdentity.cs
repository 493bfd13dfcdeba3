using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Identity;

/// <summary>Who a request is from, as established by a <see cref="RuntimeIdentityResolver"/>.</summary>
public sealed record CallerIdentity
{
    /// <summary>No identity at all: no key, no assertion, no hints.</summary>
    public static CallerIdentity Anonymous { get; } = new();

    /// <summary>The user id recorded as <c>user_id</c>.</summary>
    public string? UserId { get; init; }

    /// <summary>The caller's role, if known.</summary>
    public string? UserRole { get; init; }

    /// <summary>The caller's team, if known.</summary>
    public string? Team { get; init; }

    /// <summary>How the identity was established, recorded as <c>identity_proof_method</c>.</summary>
    public IdentityProofMethod ProofMethod { get; init; }

    /// <summary>The id of the gateway key used (never the key itself), for gateway-key identities.</summary>
    public string? KeyId { get; init; }

    /// <summary>Scopes granted to the caller (such as <c>admin</c> on a gateway key).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Whether the identity was verified (gateway key or signed assertion), not just claimed.</summary>
    public bool IsVerified => ProofMethod is IdentityProofMethod.GatewayKey or IdentityProofMethod.SignedAssertion;

    /// <summary>Whether <see cref="Scopes"/> contains <paramref name="scope"/> (compared case-insensitively).</summary>
    /// <param name="scope">The scope, such as <c>admin</c>.</param>
    /// <returns>True when granted.</returns>
    public bool HasScope(string scope) => Scopes.Contains(scope, StringComparer.OrdinalIgnoreCase);

    /// <summary>Copies the identity into a request context for policies and decision records.</summary>
    /// <param name="context">The context to fill, or null for a new one.</param>
    /// <returns>The context with user id, role, team and proof method set.</returns>
    public RequestContext ApplyTo(RequestContext? context = null) =>
        (context ?? new RequestContext()) with { UserId = UserId, UserRole = UserRole, Team = Team, IdentityProofMethod = ProofMethod };
}
