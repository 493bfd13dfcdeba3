namespace Keeptrusts.Policy.Routing;

/// <summary>
/// The chunks of a stream the router committed to: the first chunk (pulled before committing) replayed, then the rest
/// from the upstream. The router never switches target from here on: a failure propagates to the caller as a
/// <see cref="ProviderException"/> and is counted as a stream error of the target. Enumerable once.
/// </summary>
internal sealed class CommittedStream(AttemptScope scope, Action<AttemptScope> onStreamError) : IAsyncEnumerable<ReadOnlyMemory<byte>>, IAsyncEnumerator<ReadOnlyMemory<byte>>
{
    private int _started;
    private bool _replayFirst = true;
    private bool _finished;

    public ReadOnlyMemory<byte> Current { get; private set; }

    public IAsyncEnumerator<ReadOnlyMemory<byte>> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("A routed stream can be enumerated only once.");
        }

        scope.LinkEnumeration(cancellationToken);
        return this;
    }

    public ValueTask<bool> MoveNextAsync()
    {
        if (_replayFirst)
        {
            _replayFirst = false;
            Current = scope.FirstChunk;
            return ValueTask.FromResult(true);
        }

        return _finished ? ValueTask.FromResult(false) : MoveNextUpstreamAsync();
    }

    /// <summary>Ends the enumeration; the connection and the slot are released when the response is disposed.</summary>
    public ValueTask DisposeAsync()
    {
        _finished = true;
        return ValueTask.CompletedTask;
    }

    private async ValueTask<bool> MoveNextUpstreamAsync()
    {
        var upstream = scope.Enumerator!;
        try
        {
            if (await upstream.MoveNextAsync().ConfigureAwait(false))
            {
                Current = upstream.Current;
                return true;
            }

            _finished = true;
            return false;
        }
        catch (OperationCanceledException) when (scope.CallerCancelled || scope.Token.IsCancellationRequested)
        {
            _finished = true;
            throw;
        }
        catch (ProviderException)
        {
            _finished = true;
            onStreamError(scope);
            throw;
        }
#pragma warning disable CA1031 // Whatever broke the stream, the caller sees one kind of failure: ProviderException.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _finished = true;
            onStreamError(scope);
            throw new ProviderException(ProviderFailureKind.ConnectionReset, scope.Target.Id, $"the stream from target '{scope.Target.Id}' broke after its first chunk", ex);
        }
    }
}
