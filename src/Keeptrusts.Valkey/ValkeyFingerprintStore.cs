using Keeptrusts.Policy.SharedState;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// Fingerprints shared through Valkey with <c>SET fp:{fingerprint} 1 NX PX {window}</c>: atomic check-and-store, so
/// of two instances seeing one request at once exactly one records it first. Falls back to an in-process store
/// while Valkey is unreachable (fail open: a repeat sent to another instance then goes unnoticed).
/// </summary>
internal sealed class ValkeyFingerprintStore(ValkeyBackend backend, IFingerprintStore fallback) : IFingerprintStore
{
    internal const string KeyPrefix = "fp:";

    public async ValueTask<bool> TryRecordAsync(string fingerprint, TimeSpan window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        if (!backend.Health.IsUsable())
        {
            return await fallback.TryRecordAsync(fingerprint, window, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var first = await backend.Database.StringSetAsync(KeyPrefix + fingerprint, 1, window, When.NotExists).WaitAsync(cancellationToken).ConfigureAwait(false);
            backend.Health.Succeeded();
            return first;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            backend.Health.Failed(ex);
            return await fallback.TryRecordAsync(fingerprint, window, cancellationToken).ConfigureAwait(false);
        }
    }
}
