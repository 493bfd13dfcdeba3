using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.SharedState;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Keeptrusts.Valkey;

/// <summary>
/// One connection (a StackExchange.Redis multiplexer, shared by every configuration revision) and the stores on it.
/// Every key goes through a database view that adds the partition prefix, scripts' keys included.
/// </summary>
internal sealed class ValkeyBackend : ISharedStateBackend
{
    private readonly ConnectionMultiplexer _connection;
    private readonly SharedStateOptions _sharedOptions;
    private int _disposed;

    private ValkeyBackend(ConnectionMultiplexer connection, ValkeyEndpoint endpoint, ValkeyKeyPartition partition, ValkeyOptions options, SharedStateOptions sharedOptions)
    {
        _connection = connection;
        _sharedOptions = sharedOptions;
        Partition = partition;
        Description = $"{endpoint} ({partition.KeyPrefix()}*)";
        Health = new ValkeyHealth(connection, endpoint.ToString(), sharedOptions.OnEvent);
        Database = connection.GetDatabase(endpoint.Database).WithKeyPrefix(partition.KeyPrefix());
        SpendStore = new ValkeySpendStore(this, options.ReservationTimeout, sharedOptions.TimeProvider, sharedOptions.SpendFailMode);
        Fingerprints = new ValkeyFingerprintStore(this, FingerprintStores.CreateInProcess(sharedOptions.TimeProvider));
        Memory = new ValkeyMemoryStore(this);
    }

    public string Description { get; }

    public ValkeyKeyPartition Partition { get; }

    public ISpendStore SpendStore { get; }

    public IFingerprintStore Fingerprints { get; }

    public IMemoryStore Memory { get; }

    internal IDatabase Database { get; }

    internal ValkeyHealth Health { get; }

    public static ValkeyBackend Connect(ValkeyEndpoint endpoint, ValkeyKeyPartition partition, ValkeyOptions options, SharedStateOptions sharedOptions)
    {
        // With AbortOnConnectFail off this returns after one connect attempt even when the server is down; the
        // multiplexer keeps reconnecting in the background and the stores fail open meanwhile.
        var connection = ConnectionMultiplexer.Connect(endpoint.ToConfiguration(options));
        return new ValkeyBackend(connection, endpoint, partition, options, sharedOptions);
    }

    public IRequestRateLimiter CreateRateLimiter(int requestsPerMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new ValkeyRateLimiter(this, requestsPerMinute, (LocalRateLimiter)RequestRateLimiter.CreateInProcess(requestsPerMinute, _sharedOptions.TimeProvider));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _connection.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
