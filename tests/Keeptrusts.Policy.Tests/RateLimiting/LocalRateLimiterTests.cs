using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Tests.Policies.SpendLimit;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.RateLimiting;

public sealed class LocalRateLimiterTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Allows_the_limit_then_refuses_with_the_time_left_in_the_window()
    {
        var time = new FakeTimeProvider(Start);
        await using var limiter = new LocalRateLimiter(3, TimeSpan.FromMinutes(1), time);

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 3; i++)
        {
            leases.Add(await limiter.AcquireAsync("alice", CancellationToken.None));
        }

        time.Advance(TimeSpan.FromSeconds(20));
        var refused = await limiter.AcquireAsync("alice", CancellationToken.None);

        Assert.Equal([2, 1, 0], leases.Select(static l => l.Remaining));
        Assert.All(leases, static l => Assert.True(l.Allowed));
        Assert.Equal(new RateLimitLease(false, 0, TimeSpan.FromSeconds(40)), refused);
    }

    [Fact]
    public async Task A_new_window_starts_once_the_old_one_has_passed()
    {
        var time = new FakeTimeProvider(Start);
        await using var limiter = new LocalRateLimiter(1, TimeSpan.FromMinutes(1), time);

        var first = await limiter.AcquireAsync("alice", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(59));
        var tooSoon = await limiter.AcquireAsync("alice", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        var nextWindow = await limiter.AcquireAsync("alice", CancellationToken.None);

        Assert.True(first.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), tooSoon.RetryAfter);
        Assert.False(tooSoon.Allowed);
        Assert.True(nextWindow.Allowed);
    }

    [Fact]
    public async Task Buckets_count_separately()
    {
        var time = new FakeTimeProvider(Start);
        await using var limiter = new LocalRateLimiter(1, TimeSpan.FromMinutes(1), time);

        Assert.True((await limiter.AcquireAsync("alice", CancellationToken.None)).Allowed);
        Assert.True((await limiter.AcquireAsync("bob", CancellationToken.None)).Allowed);
        Assert.False((await limiter.AcquireAsync("alice", CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task Expired_buckets_are_swept_once_there_are_many()
    {
        var time = new FakeTimeProvider(Start);
        await using var limiter = new LocalRateLimiter(5, TimeSpan.FromMinutes(1), time);
        for (var i = 0; i < LocalRateLimiter.SweepThreshold + 10; i++)
        {
            limiter.Acquire("user-" + i);
        }

        time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 2048; i++)
        {
            limiter.Acquire("fresh");
        }

        Assert.Equal(1, limiter.BucketCount);
    }

    [Fact]
    public void Concurrent_requests_never_exceed_the_limit()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new LocalRateLimiter(100, TimeSpan.FromMinutes(1), time);
        var allowed = 0;

        Parallel.For(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            if (limiter.Acquire("shared").Allowed)
            {
                Interlocked.Increment(ref allowed);
            }
        });

        Assert.Equal(100, allowed);
    }

    /// <summary>
    /// Against any schedule: no minute ever lets more than two windows' worth through (safety), a request is
    /// refused only when the limit was really used up within the last minute (no refusal without cause), and
    /// coming back after Retry-After is always allowed.
    /// </summary>
    [Fact]
    public void Never_too_many_never_refused_without_cause_and_retry_after_is_enough()
    {
        var step = Gen.Zip(Gen.Choose(0, 30_000), Gen.Elements("a", "b", "c"));
        var schedule = Gen.Zip(Gen.Choose(1, 5), step.ListOf().Select(static l => l.ToArray()));

        Properties.ForAll(schedule, static input =>
        {
            var (limit, steps) = input;
            var time = new FakeTimeProvider(Start);
            var limiter = new LocalRateLimiter(limit, TimeSpan.FromMinutes(1), time);
            var allowedAt = new Dictionary<string, List<DateTimeOffset>>();
            foreach (var (advanceMs, bucket) in steps)
            {
                time.Advance(TimeSpan.FromMilliseconds(advanceMs));
                var history = allowedAt.TryGetValue(bucket, out var h) ? h : allowedAt[bucket] = [];
                var now = time.GetUtcNow();
                var inLastMinute = history.Count(t => now - t < TimeSpan.FromMinutes(1));
                var lease = limiter.Acquire(bucket);
                if (!lease.Allowed)
                {
                    Assert.True(inLastMinute >= limit, $"refused with only {inLastMinute} allowed in the last minute (limit {limit})");
                    Assert.InRange(lease.RetryAfter, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1));
                    time.Advance(lease.RetryAfter);
                    now = time.GetUtcNow();
                    inLastMinute = history.Count(t => now - t < TimeSpan.FromMinutes(1));
                    lease = limiter.Acquire(bucket);
                    Assert.True(lease.Allowed, "refused again after waiting Retry-After");
                }

                history.Add(now);
                Assert.True(inLastMinute < 2 * limit, $"allowed with {inLastMinute} already allowed in the last minute (limit {limit})");
                Assert.InRange(lease.Remaining, 0, limit - 1);
            }
        });
    }

    [Fact]
    public async Task The_in_process_factory_counts_per_bucket()
    {
        await using var limiter = RequestRateLimiter.CreateInProcess(1, new FakeTimeProvider(Start));

        Assert.IsType<LocalRateLimiter>(limiter);
        Assert.True((await limiter.AcquireAsync("x", CancellationToken.None)).Allowed);
        Assert.False((await limiter.AcquireAsync("x", CancellationToken.None)).Allowed);
        Assert.True((await limiter.AcquireAsync("y", CancellationToken.None)).Allowed);
    }
}
