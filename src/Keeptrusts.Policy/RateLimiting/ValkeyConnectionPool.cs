using System.Collections.Concurrent;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>
/// Up to <c>maxConnections</c> connections to one endpoint, reused across checks. A connection is handed to one
/// command at a time and dropped (never returned) after any failure, so a half-read reply can never be mistaken for
/// the next command's.
/// </summary>
internal sealed class ValkeyConnectionPool : IAsyncDisposable
{
    private readonly ConcurrentStack<ValkeyConnection> _idle = new();
    private readonly SemaphoreSlim _slots;
    private readonly ValkeyEndpoint _endpoint;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _commandTimeout;
    private readonly TimeProvider _time;
    private int _disposed;

    public ValkeyConnectionPool(ValkeyEndpoint endpoint, int maxConnections, TimeSpan connectTimeout, TimeSpan commandTimeout, TimeProvider time)
    {
        _endpoint = endpoint;
        _slots = new SemaphoreSlim(maxConnections, maxConnections);
        _connectTimeout = connectTimeout;
        _commandTimeout = commandTimeout;
        _time = time;
    }

    public ValkeyEndpoint Endpoint => _endpoint;

    /// <summary>Runs one command; throws <see cref="TimeoutException"/> when it takes too long, <see cref="IOException"/> when the connection fails.</summary>
    public async ValueTask<RespReply> ExecuteAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_commandTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no free connection to {_endpoint} within {_commandTimeout.TotalMilliseconds:0} ms");
        }

        ValkeyConnection? connection = null;
        try
        {
            // An idle connection may have been closed by the server (its idle timeout) or a load balancer since its
            // last use: if it fails, the command is sent once more on a fresh connection before anything is reported.
            while (_idle.TryPop(out var pooled))
            {
                connection = pooled;
                try
                {
                    var reply = await ExecuteOnAsync(pooled, command, linked.Token, cancellationToken).ConfigureAwait(false);
                    Return(ref connection);
                    return reply;
                }
                catch (IOException) when (!linked.IsCancellationRequested)
                {
                    connection = null;
                    await pooled.DisposeAsync().ConfigureAwait(false);
                }
            }

            using (var connectTimeout = new CancellationTokenSource(_connectTimeout, _time))
            using (var connectLinked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectTimeout.Token))
            {
                try
                {
                    connection = await ValkeyConnection.OpenAsync(_endpoint, connectLinked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"connecting to {_endpoint} took longer than {_connectTimeout.TotalMilliseconds:0} ms");
                }
            }

            var fresh = await ExecuteOnAsync(connection, command, linked.Token, cancellationToken).ConfigureAwait(false);
            Return(ref connection);
            return fresh;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            _slots.Release();
        }
    }

    private async ValueTask<RespReply> ExecuteOnAsync(ValkeyConnection connection, ReadOnlyMemory<byte> command, CancellationToken timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.ExecuteAsync(command, timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{_endpoint} did not answer within {_commandTimeout.TotalMilliseconds:0} ms");
        }
    }

    /// <summary>Puts a connection that just worked back in the pool (unless the pool is closing) and clears the caller's reference.</summary>
    private void Return(ref ValkeyConnection? connection)
    {
        if (connection is not null && Volatile.Read(ref _disposed) == 0)
        {
            _idle.Push(connection);
            connection = null;
        }
    }

    /// <summary>Closes every idle connection, e.g. after a failure that probably broke them all.</summary>
    public async ValueTask ClearAsync()
    {
        while (_idle.TryPop(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await ClearAsync().ConfigureAwait(false);
        }
    }
}
