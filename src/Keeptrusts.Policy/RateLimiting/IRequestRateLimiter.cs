namespace Keeptrusts.Policy.RateLimiting;

/// <summary>
/// Counts requests per bucket in fixed one-minute windows and says whether one more is allowed. Implementations are
/// thread-safe. Create an in-process one with <see cref="RequestRateLimiter.CreateInProcess"/>, or a shared one
/// from a <see cref="SharedState.ISharedStateBackend"/>.
/// </summary>
public interface IRequestRateLimiter : IAsyncDisposable
{
    /// <summary>Counts one request against <paramref name="bucketKey"/> and decides whether it may proceed.</summary>
    /// <param name="bucketKey">The bucket, usually from <see cref="RequestRateLimiter.BucketKey"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the shared store; the caller's request is being abandoned.</param>
    /// <returns>
    /// The decision. A limiter never fails a request because its store is unreachable: it falls back to counting
    /// in-process and reports the outage through <see cref="SharedState.SharedStateOptions.OnEvent"/>.
    /// </returns>
    ValueTask<RateLimitLease> AcquireAsync(string bucketKey, CancellationToken cancellationToken);
}

/// <summary>The outcome of counting one request.</summary>
/// <param name="Allowed">Whether the request is within the limit.</param>
/// <param name="Remaining">Requests left in the current window after this one (0 when limited); becomes <c>X-RateLimit-Remaining</c>.</param>
/// <param name="RetryAfter">When <paramref name="Allowed"/> is false, the time until the window resets (<c>Retry-After</c>); otherwise zero.</param>
public readonly record struct RateLimitLease(bool Allowed, int Remaining, TimeSpan RetryAfter);
