using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.RateLimiting;

namespace Keeptrusts.Benchmarks;

/// <summary>The in-process rate limiter: the per-request cost without Valkey, and while failing open during an outage.</summary>
[MemoryDiagnoser]
public class RateLimiterBenchmarks
{
    private readonly string[] _users = Enumerable.Range(0, 1000).Select(static i => "user-" + i).ToArray();
    private LocalRateLimiter _limiter = null!;
    private int _next;

    [GlobalSetup]
    public void Setup() => _limiter = new LocalRateLimiter(int.MaxValue - 1, TimeSpan.FromMinutes(1), TimeProvider.System);

    [Benchmark(Description = "acquire, one bucket")]
    public bool OneBucket() => _limiter.Acquire("team-alpha:user:alice").Allowed;

    [Benchmark(Description = "acquire, 1000 buckets in turn")]
    public bool ManyBuckets() => _limiter.Acquire(_users[_next++ % _users.Length]).Allowed;

    [Benchmark(Description = "bucket key")]
    public string BucketKey() => RequestRateLimiter.BucketKey("tenant/org/gateway", Policy.Configuration.RateLimitScope.User, "alice@example.org");
}
