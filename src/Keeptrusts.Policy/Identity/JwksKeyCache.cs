using Microsoft.IdentityModel.Tokens;

namespace Keeptrusts.Policy.Identity;

/// <summary>
/// The signing keys published at a JWKS URL: fetched on first use, kept for <c>maxAge</c>, and fetched again early
/// when a token names a key id the set does not have (a key rotation). Fetches happen at most once per
/// <c>minRefreshInterval</c>, successful or not, so tokens with made-up key ids cannot turn the gateway into a JWKS
/// flooder and an unreachable JWKS costs one timeout per interval. One fetch at a time; a failed fetch keeps the keys
/// already known.
/// </summary>
internal sealed class JwksKeyCache : IDisposable
{
    /// <summary>The largest JWKS document accepted.</summary>
    internal const int MaxDocumentBytes = 1024 * 1024;

    private readonly Uri _url;
    private readonly Func<HttpClient> _httpClientFactory;
    private readonly TimeProvider _time;
    private readonly TimeSpan _fetchTimeout;
    private readonly TimeSpan _maxAge;
    private readonly TimeSpan _minRefreshInterval;
    private readonly SemaphoreSlim _fetching = new(1, 1);
    private volatile KeySet? _current;
    private long _lastAttempt = long.MinValue;

    public JwksKeyCache(Uri url, Func<HttpClient> httpClientFactory, TimeProvider time, TimeSpan fetchTimeout, TimeSpan maxAge, TimeSpan minRefreshInterval)
    {
        _url = url;
        _httpClientFactory = httpClientFactory;
        _time = time;
        _fetchTimeout = fetchTimeout;
        _maxAge = maxAge;
        _minRefreshInterval = minRefreshInterval;
    }

    /// <summary>How many times the document was fetched successfully.</summary>
    public int Fetches => _fetches;

    private int _fetches;

    /// <summary>The keys, fetching them when none are known yet or they are older than the maximum age.</summary>
    /// <returns>The keys, or null when none could ever be fetched.</returns>
    public async ValueTask<IReadOnlyList<SecurityKey>?> GetKeysAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        if (current is not null && _time.GetElapsedTime(current.FetchedAt) < _maxAge)
        {
            return current.Keys;
        }

        return (await FetchAsync(cancellationToken).ConfigureAwait(false))?.Keys;
    }

    /// <summary>Fetches again because a token names an unknown key id, unless a fetch happened very recently.</summary>
    /// <returns>The keys after the attempt.</returns>
    public async ValueTask<IReadOnlyList<SecurityKey>?> RefreshAsync(CancellationToken cancellationToken) =>
        (await FetchAsync(cancellationToken).ConfigureAwait(false))?.Keys;

    private async ValueTask<KeySet?> FetchAsync(CancellationToken cancellationToken)
    {
        var seen = _current;
        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Someone else fetched while this call waited: use theirs.
            if (!ReferenceEquals(seen, _current))
            {
                return _current;
            }

            // Failed fetches are throttled too, so an unreachable JWKS costs one timeout per interval, not one per request.
            var last = Interlocked.Read(ref _lastAttempt);
            if (last != long.MinValue && _time.GetElapsedTime(last) < _minRefreshInterval)
            {
                return _current;
            }

            Interlocked.Exchange(ref _lastAttempt, _time.GetTimestamp());
            var keys = await DownloadAsync(cancellationToken).ConfigureAwait(false);
            if (keys is not null)
            {
                _current = new KeySet(keys, _time.GetTimestamp());
                Interlocked.Increment(ref _fetches);
            }

            return _current;
        }
        finally
        {
            _fetching.Release();
        }
    }

    private async Task<IReadOnlyList<SecurityKey>?> DownloadAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_fetchTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _url);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await _httpClientFactory().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxDocumentBytes)
            {
                return null;
            }

            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = await stream.ReadAsync(chunk, linked.Token).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > MaxDocumentBytes)
                    {
                        return null;
                    }

                    buffer.Write(chunk, 0, read);
                }

                var json = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
                var set = new JsonWebKeySet(json) { SkipUnresolvedJsonWebKeys = true };
                var keys = set.GetSigningKeys();
                return keys.Count > 0 ? keys.ToArray() : null;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or ArgumentException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    public void Dispose() => _fetching.Dispose();

    private sealed record KeySet(IReadOnlyList<SecurityKey> Keys, long FetchedAt);
}
