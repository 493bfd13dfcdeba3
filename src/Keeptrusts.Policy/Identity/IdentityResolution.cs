namespace Keeptrusts.Policy.Identity;

/// <summary>The outcome of resolving a caller: an identity, or why the request must be refused.</summary>
public readonly record struct IdentityResolution
{
    /// <summary>The identity, when resolution succeeded.</summary>
    public CallerIdentity? Identity { get; init; }

    /// <summary>The HTTP status for a refusal: 401 (not authenticated), 400 (malformed hints) or 503 (the key set could not be fetched).</summary>
    public int Status { get; init; }

    /// <summary>Why the request is refused, in words that never include the credential.</summary>
    public string? Failure { get; init; }

    /// <summary>Whether an identity was established.</summary>
    public bool Succeeded => Identity is not null;

    /// <summary>A success.</summary>
    /// <param name="identity">The identity.</param>
    /// <returns>The resolution.</returns>
    public static IdentityResolution Success(CallerIdentity identity) => new() { Identity = identity, Status = 200 };

    /// <summary>A refusal.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="failure">Why, without the credential.</param>
    /// <returns>The resolution.</returns>
    public static IdentityResolution Refuse(int status, string failure) => new() { Status = status, Failure = failure };
}
