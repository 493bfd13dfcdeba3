using System.Runtime.CompilerServices;
using System.Text.Json;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Providers.Streaming;

/// <summary>
/// A streamed answer in flight: reads the first chunk before the response is handed out (so a stream that fails
/// before its first chunk is still an error response or a failed attempt the router can move past), then hands out
/// the rest. The attempt timeout covers everything up to the first chunk and then applies between chunks. Every
/// failure is reported as a <see cref="ProviderException"/>; disposing releases the source (connection, process).
/// </summary>
internal sealed class ChunkStream : IAsyncDisposable
{
    private readonly string _targetId;
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _stop;
    private readonly IAsyncEnumerator<ReadOnlyMemory<byte>> _source;
    private readonly IAsyncDisposable? _owner;
    private ReadOnlyMemory<byte> _first;
    private int _enumerated;
    private int _released;

    /// <param name="targetId">The target, for failure messages.</param>
    /// <param name="timeout">The attempt timeout; after the first chunk it is the longest wait for the next one.</param>
    /// <param name="timer">The running attempt timer; owned from now on.</param>
    /// <param name="source">Produces the translated chunks; it is cancelled through the token it is given.</param>
    /// <param name="owner">Released with the stream (the HTTP response, the process).</param>
    public ChunkStream(string targetId, TimeSpan timeout, CancellationTokenSource timer, Func<CancellationToken, IAsyncEnumerable<ReadOnlyMemory<byte>>> source, IAsyncDisposable? owner)
    {
        _targetId = targetId;
        _timeout = timeout;
        _timer = timer;
        _owner = owner;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(timer.Token);
        _source = source(_stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    /// <summary>Reads the first chunk and returns the response that carries the stream, or the error the source reported first.</summary>
    public async ValueTask<ProviderResponse> StartAsync(int statusCode, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        try
        {
            bool any;
            using (cancellationToken.UnsafeRegister(AttemptTimeout.CancelQuietly, _stop))
            {
                any = await MoveNextAsync(peeking: true, cancellationToken).ConfigureAwait(false);
            }

            if (!any)
            {
                throw new ProviderException(ProviderFailureKind.InvalidResponse, _targetId, $"target '{_targetId}' ended its stream without sending a chunk");
            }

            _first = _source.Current;
            return new ProviderResponse(statusCode, ReadOnlyMemory<byte>.Empty, ReadAsync(), retryAfter, this);
        }
        catch (UpstreamStreamErrorException error)
        {
            await DisposeAsync().ConfigureAwait(false);
            return new ProviderResponse(error.StatusCode, error.ErrorJson, retryAfter: retryAfter);
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        AttemptTimeout.CancelQuietly(_stop);
        try
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
        catch (NotSupportedException)
        {
            // The source is mid-read on another thread; releasing the owner below ends that read.
        }

        if (_owner is not null)
        {
            await _owner.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _timer.Dispose();
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streamed response can be enumerated once.");
        }

        using var registration = cancellationToken.UnsafeRegister(AttemptTimeout.CancelQuietly, _stop);
        yield return _first;
        _first = default;
        while (true)
        {
            AttemptTimeout.Restart(_timer, _timeout);
            if (!await MoveNextAsync(peeking: false, cancellationToken).ConfigureAwait(false))
            {
                yield break;
            }

            yield return _source.Current;
        }
    }

    private async ValueTask<bool> MoveNextAsync(bool peeking, CancellationToken consumerToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
        try
        {
            return await _source.MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ProviderException && !(peeking && ex is UpstreamStreamErrorException))
        {
            var mapped = Map(ex, consumerToken);
            if (!peeking)
            {
                await DisposeAsync().ConfigureAwait(false);
            }

            if (ReferenceEquals(mapped, ex))
            {
                throw;
            }

            throw mapped;
        }
    }

    private Exception Map(Exception ex, CancellationToken consumerToken)
    {
        if (consumerToken.IsCancellationRequested && ex is OperationCanceledException)
        {
            return ex;
        }

        if (_timer.IsCancellationRequested && !consumerToken.IsCancellationRequested && ex is OperationCanceledException or IOException or HttpRequestException)
        {
            return new ProviderException(ProviderFailureKind.Timeout, _targetId, $"target '{_targetId}' sent nothing for {AttemptTimeout.Describe(_timeout)} while streaming", ex);
        }

        return ex switch
        {
            UpstreamStreamErrorException error => new ProviderException(ProviderFailureKind.ConnectionReset, _targetId, $"target '{_targetId}' broke off its stream: {error.Message}", ex),
            SseTooLargeException or BodyTooLargeException => new ProviderException(ProviderFailureKind.InvalidResponse, _targetId, $"target '{_targetId}' streamed an event larger than the cap: {ex.Message}", ex),
            JsonException or InvalidUpstreamResponseException => new ProviderException(ProviderFailureKind.InvalidResponse, _targetId, $"target '{_targetId}' streamed an invalid chunk: {ex.Message}", ex),
            IOException or HttpRequestException => new ProviderException(ProviderFailureKind.ConnectionReset, _targetId, $"target '{_targetId}' dropped the connection mid-stream", ex),
            _ => ex,
        };
    }
}
