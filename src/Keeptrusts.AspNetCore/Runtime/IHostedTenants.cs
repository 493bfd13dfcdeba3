using Microsoft.AspNetCore.Http;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>
/// Hosted mode: the configuration a request is enforced with is chosen by the caller's gateway key rather than being
/// the gateway's own. When one is registered, the chat endpoint asks it for a lease instead of the runtime.
/// </summary>
internal interface IHostedTenants
{
    /// <summary>The snapshot of the caller's tenant, or why there is none (an OpenAI-shaped refusal).</summary>
    ValueTask<TenantAcquisition> AcquireAsync(HttpContext http, CancellationToken cancellationToken);
}

/// <summary>A lease on a tenant's snapshot, or the refusal to answer with.</summary>
internal readonly record struct TenantAcquisition(SnapshotLease? Lease, int Status, string? Message, string? Code, TimeSpan? RetryAfter)
{
    public static TenantAcquisition Of(SnapshotLease lease) => new(lease, 0, null, null, null);

    public static TenantAcquisition Refuse(int status, string message, string code, TimeSpan? retryAfter = null) => new(null, status, message, code, retryAfter);
}
