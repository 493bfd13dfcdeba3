using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.SharedState;
using Keeptrusts.Valkey;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// One shared rate-limit check and one spend reservation (reserve, then settle) against a local Valkey/Redis named by
/// <c>KEEPTRUSTS_BENCH_REDIS_URL</c> (default <c>redis://127.0.0.1:6379</c>): one script round trip each.
/// </summary>
[MemoryDiagnoser]
public class ValkeyBenchmarks
{
    private static readonly DateOnly Day = new(2026, 12, 3);
    private static readonly SpendKey[] Keys = [new("global", 1_000_000_000m), new("user:alice", 1_000_000_000m)];

    private ISharedStateBackend _backend = null!;
    private IRequestRateLimiter _limiter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var url = Environment.GetEnvironmentVariable("KEEPTRUSTS_BENCH_REDIS_URL") ?? "redis://127.0.0.1:6379";
        _backend = ValkeySharedState.Connect(url, new ValkeyKeyPartition("bench", "bench", "g-" + Guid.NewGuid().ToString("N")[..8]), new ValkeyOptions { CommandTimeout = TimeSpan.FromSeconds(5) });
        _limiter = _backend.CreateRateLimiter(int.MaxValue - 1);
        if (!_limiter.AcquireAsync("warm-up", CancellationToken.None).AsTask().GetAwaiter().GetResult().Allowed)
        {
            throw new InvalidOperationException("the warm-up check was refused");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _limiter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "rate-limit check (one script)")]
    public async Task<bool> RateLimitCheck() => (await _limiter.AcquireAsync("bench:global:*", CancellationToken.None)).Allowed;

    [Benchmark(Description = "spend reservation, two keys (reserve + settle)")]
    public async Task<bool> Reservation()
    {
        var result = await _backend.SpendStore.TryReserveAsync(Keys, 0.0123m, Day, CancellationToken.None);
        await _backend.SpendStore.SettleAsync(result.Reservation!, 0.01m, CancellationToken.None);
        return result.Reservation is not null;
    }
}
