using System.Net;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Tests.Policies.SpendLimit;

namespace Keeptrusts.Policy.Tests.RateLimiting;

/// <summary>The Valkey backend against a real server, and fail-open against servers that are gone or misbehave.</summary>
[Collection(ValkeyCollection.Name)]
public sealed class ValkeyRateLimiterTests(ValkeyServer valkey)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Instances_share_one_count_per_bucket()
    {
        var config = Config(limit: 5);
        var events = new List<RateLimitBackendEvent>();
        await using var first = Create(config, valkey.Url, events);
        await using var second = Create(config, valkey.Url, events);
        var bucket = NewBucket();

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 4; i++)
        {
            leases.Add(await first.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound));
            leases.Add(await second.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound));
        }

        Assert.IsType<ValkeyRateLimiter>(first);
        Assert.Empty(events);
        Assert.Equal(5, leases.Count(static l => l.Allowed));
        Assert.Equal([4, 3, 2, 1, 0], leases.Where(static l => l.Allowed).Select(static l => l.Remaining));
        Assert.All(leases.Where(static l => !l.Allowed), static l =>
        {
            Assert.Equal(0, l.Remaining);
            Assert.InRange(l.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        });
    }

    [Fact]
    public async Task The_key_is_prefixed_and_expires_with_the_window()
    {
        await using var limiter = Create(Config(limit: 10), valkey.Url);
        var bucket = NewBucket();

        await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);
        await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);
        var count = await valkey.CommandAsync("GET", RequestRateLimiter.KeyPrefix + bucket);
        var ttl = await valkey.CommandAsync("PTTL", RequestRateLimiter.KeyPrefix + bucket);

        Assert.Equal("2", count.Text);
        Assert.InRange(ttl.Integer, 1, 60_000);
    }

    [Fact]
    public async Task Concurrent_checks_never_let_more_than_the_limit_through()
    {
        await using var limiter = Create(Config(limit: 50), valkey.Url);
        var bucket = NewBucket();

        var leases = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => limiter.AcquireAsync(bucket, CancellationToken.None).AsTask())).WaitAsync(Bound);

        Assert.Equal(50, leases.Count(static l => l.Allowed));
        Assert.False(((ValkeyRateLimiter)limiter).InOutage);
    }

    [Fact]
    public async Task A_user_with_a_password_and_a_database_is_used()
    {
        var user = "kt-test-" + Guid.NewGuid().ToString("N")[..8];
        var setUser = await valkey.CommandAsync("ACL", "SETUSER", user, "on", ">t0p-secret", "~*", "+@all");
        Assert.Equal("OK", setUser.Text);
        var url = $"redis://{user}:t0p-secret@{valkey.Endpoint.Host}:{valkey.Endpoint.Port}/3";
        var events = new List<RateLimitBackendEvent>();
        await using var limiter = Create(Config(limit: 1), url, events);
        var bucket = NewBucket();

        var first = await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);
        await valkey.CommandAsync("ACL", "DELUSER", user);

        Assert.True(first.Allowed);
        Assert.Empty(events);
        Assert.Equal(RespKind.Null, (await valkey.CommandAsync("GET", RequestRateLimiter.KeyPrefix + bucket)).Kind);
    }

    [Fact]
    public async Task A_wrong_password_fails_open_and_the_report_never_shows_it()
    {
        var url = $"redis://nobody:not-the-password@{valkey.Endpoint.Host}:{valkey.Endpoint.Port}";
        var events = new List<RateLimitBackendEvent>();
        await using var limiter = Create(Config(limit: 1), url, events);

        var lease = await limiter.AcquireAsync(NewBucket(), CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(lease.Allowed);
        var e = Assert.Single(events);
        Assert.Equal(RateLimitBackendEventKind.Unavailable, e.Kind);
        Assert.Contains("WRONGPASS", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_fails_open_reports_once_and_counts_in_process()
    {
        var events = new List<RateLimitBackendEvent>();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var url = $"redis://127.0.0.1:{ValkeyServer.FreePort()}";
        await using var limiter = RequestRateLimiter.Create(Config(limit: 2), time, Options(url, events));

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 3; i++)
        {
            leases.Add(await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound));
        }

        Assert.Equal([true, true, false], leases.Select(static l => l.Allowed));
        var e = Assert.Single(events);
        Assert.Equal(RateLimitBackendEventKind.Unavailable, e.Kind);
        Assert.Equal(1, e.Outages);
        Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
        Assert.True(((ValkeyRateLimiter)limiter).InOutage);
    }

    [Fact]
    public async Task After_an_outage_the_shared_count_is_used_again_and_that_is_reported()
    {
        var events = new List<RateLimitBackendEvent>();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var up = false;
        var target = new IPEndPoint(IPAddress.Parse(valkey.Endpoint.Host), valkey.Endpoint.Port);
        await using var proxy = new FakeTcpServer((client, ct) => Volatile.Read(ref up) ? FakeTcpServer.ForwardAsync(client, target, ct) : Task.CompletedTask);
        await using var limiter = RequestRateLimiter.Create(Config(limit: 100), time, Options($"redis://127.0.0.1:{proxy.Port}", events));
        var bucket = NewBucket();

        await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);
        var connectionsDuringBackoff = proxy.Connections;
        await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);
        var afterSecondCheck = proxy.Connections;
        Volatile.Write(ref up, true);
        time.Advance(TimeSpan.FromSeconds(1));
        var restored = await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.Equal(connectionsDuringBackoff, afterSecondCheck);
        Assert.Equal([RateLimitBackendEventKind.Unavailable, RateLimitBackendEventKind.Restored], events.Select(static e => e.Kind));
        Assert.Equal(99, restored.Remaining);
        Assert.Equal("1", (await valkey.CommandAsync("GET", RequestRateLimiter.KeyPrefix + bucket)).Text);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_and_fails_open()
    {
        await using var silent = new FakeTcpServer(static async (client, ct) => await Task.Delay(Timeout.Infinite, ct));
        var events = new List<RateLimitBackendEvent>();
        var options = Options($"redis://127.0.0.1:{silent.Port}", events);
        options.CommandTimeout = TimeSpan.FromMilliseconds(200);
        await using var limiter = RequestRateLimiter.Create(Config(limit: 1), TimeProvider.System, options);

        var lease = await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(lease.Allowed);
        Assert.Contains("did not answer", Assert.Single(events).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_speaking_another_protocol_fails_open()
    {
        await using var http = new FakeTcpServer(static async (client, ct) =>
        {
            var buffer = new byte[1024];
            _ = await client.ReadAsync(buffer, ct);
            await client.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), ct);
        });
        var events = new List<RateLimitBackendEvent>();
        await using var limiter = Create(Config(limit: 1), $"redis://127.0.0.1:{http.Port}", events);

        var lease = await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(lease.Allowed);
        Assert.Equal(RateLimitBackendEventKind.Unavailable, Assert.Single(events).Kind);
    }

    [Fact]
    public async Task The_url_is_read_from_the_variable_named_by_url_env()
    {
        var variable = "KEEPTRUSTS_TEST_RL_URL_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, valkey.Url);
        try
        {
            await using var limiter = RequestRateLimiter.Create(new DistributedRateLimitConfig { UrlEnv = variable, RequestsPerMinute = 1 }, TimeProvider.System);
            var bucket = NewBucket();

            await limiter.AcquireAsync(bucket, CancellationToken.None).AsTask().WaitAsync(Bound);

            Assert.Equal("1", (await valkey.CommandAsync("GET", RequestRateLimiter.KeyPrefix + bucket)).Text);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private static DistributedRateLimitConfig Config(int limit) => new() { UrlEnv = "KEEPTRUSTS_REDIS_URL", RequestsPerMinute = limit };

    private static RequestRateLimiterOptions Options(string url, List<RateLimitBackendEvent>? events) => new()
    {
        Url = url,
        // Generous, so a cold start (JIT, first connection) on a busy machine never looks like an outage.
        CommandTimeout = TimeSpan.FromSeconds(5),
        OnBackendEvent = events is null ? null : e =>
        {
            lock (events)
            {
                events.Add(e);
            }
        },
    };

    private static IRequestRateLimiter Create(DistributedRateLimitConfig config, string url, List<RateLimitBackendEvent>? events = null) =>
        RequestRateLimiter.Create(config, TimeProvider.System, Options(url, events));

    private static string NewBucket() => "test:" + Guid.NewGuid().ToString("N");
}
