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
            if (!_idle.TryPop(out connection))
            {
                using var connectTimeout = new CancellationTokenSource(_connectTimeout, _time);
                using var connectLinked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectTimeout.Token);
                try
                {
                    connection = await ValkeyConnection.OpenAsync(_endpoint, connectLinked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"connecting to {_endpoint} took longer than {_connectTimeout.TotalMilliseconds:0} ms");
                }
            }

            RespReply reply;
            try
            {
                reply = await connection.ExecuteAsync(command, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{_endpoint} did not answer within {_commandTimeout.TotalMilliseconds:0} ms");
            }

            if (Volatile.Read(ref _disposed) == 0)
            {
                _idle.Push(connection);
                connection = null;
            }

            return reply;
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
