using System.Net;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.SharedState;
using static Keeptrusts.Valkey.Tests.ValkeyTestKit;

namespace Keeptrusts.Valkey.Tests;

/// <summary>The shared rate limiter against a real server, and fail-open against servers that are gone or misbehave.</summary>
[Collection(ValkeyCollection.Name)]
public sealed class ValkeyRateLimiterTests(ValkeyServer valkey)
{
    [Fact]
    public async Task Instances_share_one_count_per_bucket()
    {
        var partition = NewPartition();
        var events = new List<SharedStateEvent>();
        await using var firstBackend = Connect(valkey.Url, partition, events);
        await using var secondBackend = Connect(valkey.Url, partition, events);
        await using var first = firstBackend.CreateRateLimiter(5);
        await using var second = secondBackend.CreateRateLimiter(5);

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 4; i++)
        {
            leases.Add(await first.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound));
            leases.Add(await second.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound));
        }

        Assert.Empty(events);
        Assert.Equal([4, 3, 2, 1, 0], leases.Where(static l => l.Allowed).Select(static l => l.Remaining));
        Assert.All(leases.Where(static l => !l.Allowed), static l =>
        {
            Assert.Equal(0, l.Remaining);
            Assert.InRange(l.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        });
    }

    [Fact]
    public async Task The_key_is_laid_out_under_the_partition_and_expires_with_the_window()
    {
        var partition = NewPartition();
        await using var backend = Connect(valkey.Url, partition);
        await using var limiter = backend.CreateRateLimiter(10);

        await limiter.AcquireAsync("pack:user:alice", CancellationToken.None).AsTask().WaitAsync(Bound);
        await limiter.AcquireAsync("pack:user:alice", CancellationToken.None).AsTask().WaitAsync(Bound);
        var key = $"keeptrusts:t:o:{partition.Gateway}:rl:pack:user:alice";

        Assert.Equal("2", (string?)await valkey.CommandAsync("GET", key));
        Assert.InRange((long)await valkey.CommandAsync("PTTL", key), 1, 60_000);
    }

    [Fact]
    public async Task Partitions_never_share_a_count()
    {
        await using var acme = Connect(valkey.Url, NewPartition());
        await using var globex = Connect(valkey.Url, NewPartition());
        await using var acmeLimiter = acme.CreateRateLimiter(1);
        await using var globexLimiter = globex.CreateRateLimiter(1);

        Assert.True((await acmeLimiter.AcquireAsync("alice", CancellationToken.None)).Allowed);
        Assert.True((await globexLimiter.AcquireAsync("alice", CancellationToken.None)).Allowed);
        Assert.False((await acmeLimiter.AcquireAsync("alice", CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task Concurrent_checks_from_two_instances_admit_exactly_the_limit()
    {
        var partition = NewPartition();
        await using var a = Connect(valkey.Url, partition);
        await using var b = Connect(valkey.Url, partition);
        await using var first = a.CreateRateLimiter(50);
        await using var second = b.CreateRateLimiter(50);

        var leases = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => (i % 2 == 0 ? first : second).AcquireAsync("bucket", CancellationToken.None).AsTask())).WaitAsync(Bound);

        Assert.Equal(50, leases.Count(static l => l.Allowed));
    }

    [Fact]
    public async Task A_user_with_a_password_and_a_database_is_used()
    {
        var user = "kt-test-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal("OK", (string?)await valkey.CommandAsync("ACL", "SETUSER", user, "on", ">t0p-secret", "~*", "+@all"));
        var partition = NewPartition();
        var events = new List<SharedStateEvent>();
        try
        {
            await using var backend = Connect($"redis://{user}:t0p-secret@{valkey.Endpoint.Host}:{valkey.Endpoint.Port}/3", partition, events);
            await using var limiter = backend.CreateRateLimiter(1);

            Assert.True((await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound)).Allowed);
            Assert.Empty(events);
            Assert.DoesNotContain("t0p-secret", backend.Description, StringComparison.Ordinal);
            Assert.Equal(1L, (long)await valkey.CommandAsync("EVAL", "redis.call('SELECT', 3) return redis.call('EXISTS', KEYS[1])", 1, $"keeptrusts:t:o:{partition.Gateway}:rl:alice"));
        }
        finally
        {
            await valkey.CommandAsync("ACL", "DELUSER", user);
        }
    }

    [Fact]
    public async Task An_outage_report_never_shows_the_password()
    {
        var events = new List<SharedStateEvent>();
        await using var backend = Connect($"redis://nobody:not-the-password@127.0.0.1:{ValkeyServer.ClosedPort()}", NewPartition(), events, options: new ValkeyOptions());
        await using var limiter = backend.CreateRateLimiter(1);

        var leases = new[]
        {
            await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound),
            await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound),
        };

        Assert.Equal([true, false], leases.Select(static l => l.Allowed));
        var e = Assert.Single(events);
        Assert.Equal(SharedStateEventKind.Unavailable, e.Kind);
        Assert.DoesNotContain("not-the-password", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", backend.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_fails_open_reports_once_and_counts_in_process()
    {
        var events = new List<SharedStateEvent>();
        var time = new ManualTime();
        await using var backend = Connect($"redis://127.0.0.1:{ValkeyServer.ClosedPort()}", NewPartition(), events, time);
        await using var limiter = backend.CreateRateLimiter(2);

        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 3; i++)
        {
            leases.Add(await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound));
        }

        time.Advance(TimeSpan.FromMinutes(1));
        leases.Add(await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound));

        Assert.Equal([true, true, false, true], leases.Select(static l => l.Allowed));
        var e = Assert.Single(events);
        Assert.Equal(SharedStateEventKind.Unavailable, e.Kind);
        Assert.Equal(1, e.Outages);
        Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_comes_back_is_used_again_and_that_is_reported_once()
    {
        var port = ValkeyServer.FreePort();
        var events = new List<SharedStateEvent>();
        var partition = NewPartition();
        await using var backend = Connect($"redis://127.0.0.1:{port}", partition, events, options: new ValkeyOptions { ConnectTimeout = TimeSpan.FromSeconds(2), CommandTimeout = TimeSpan.FromSeconds(2) });
        await using var limiter = backend.CreateRateLimiter(100);

        await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);
        await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);
        var server = ValkeyServer.StartServer(port);
        try
        {
            await EventuallyAsync(async () =>
            {
                await limiter.AcquireAsync("bob", CancellationToken.None);
                lock (events)
                {
                    return events.Count > 1;
                }
            }, "the limiter uses the server again");
            await using var other = Connect($"redis://127.0.0.1:{port}", partition);
            await using var otherLimiter = other.CreateRateLimiter(100);
            await limiter.AcquireAsync("carol", CancellationToken.None).AsTask().WaitAsync(Bound);
            var lease = await otherLimiter.AcquireAsync("carol", CancellationToken.None).AsTask().WaitAsync(Bound);

            Assert.Equal(98, lease.Remaining);

            lock (events)
            {
                Assert.Equal([SharedStateEventKind.Unavailable, SharedStateEventKind.Restored], events.Select(static e => e.Kind));
            }
        }
        finally
        {
            await ValkeyServer.StopAsync(server);
        }
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_open_within_the_timeouts()
    {
        await using var silent = new FakeTcpServer(static async (client, ct) => await Task.Delay(Timeout.Infinite, ct));
        var events = new List<SharedStateEvent>();
        await using var backend = Connect($"redis://127.0.0.1:{silent.Port}", NewPartition(), events, options: new ValkeyOptions());
        await using var limiter = backend.CreateRateLimiter(1);

        var lease = await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(lease.Allowed);
        Assert.Equal(SharedStateEventKind.Unavailable, Assert.Single(events).Kind);
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
        var events = new List<SharedStateEvent>();
        await using var backend = Connect($"redis://127.0.0.1:{http.Port}", NewPartition(), events, options: new ValkeyOptions());
        await using var limiter = backend.CreateRateLimiter(1);

        var lease = await limiter.AcquireAsync("alice", CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(lease.Allowed);
        Assert.Equal(SharedStateEventKind.Unavailable, Assert.Single(events).Kind);
    }

    [Fact]
    public async Task The_factory_reads_the_url_from_url_env_and_says_when_it_is_missing_or_invalid()
    {
        var variable = "KEEPTRUSTS_TEST_RL_URL_" + Guid.NewGuid().ToString("N");
        var factory = ValkeySharedState.CreateFactory(Patient());
        var events = new List<SharedStateEvent>();
        var options = new SharedStateOptions { OnEvent = events.Add, DefaultGateway = "pack-" + Guid.NewGuid().ToString("N")[..8] };
        var config = new Policy.Configuration.DistributedRateLimitConfig { UrlEnv = variable };

        Assert.Null(factory.Create(config, options));
        Environment.SetEnvironmentVariable(variable, "http://user:hunter2@cache:6379");
        try
        {
            Assert.Null(factory.Create(config, options));
            Environment.SetEnvironmentVariable(variable, valkey.Url);
            await using var backend = factory.Create(config, options)!;
            await using var limiter = backend.CreateRateLimiter(1);
            await limiter.AcquireAsync("alice", CancellationToken.None);

            Assert.Equal(1L, (long)await valkey.CommandAsync("EXISTS", $"keeptrusts:default:default:{options.DefaultGateway}:rl:alice"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Assert.Equal(2, events.Count);
        Assert.All(events, static e => Assert.Equal(SharedStateEventKind.NotConfigured, e.Kind));
        Assert.Contains(variable + " is not set", events[0].Message, StringComparison.Ordinal);
        Assert.Contains("scheme 'http'", events[1].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", events[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_reported_together()
    {
        var ex = Assert.Throws<ArgumentException>(() => ValkeySharedState.CreateFactory(new ValkeyOptions { CommandTimeout = TimeSpan.Zero, ReservationTimeout = TimeSpan.FromDays(2) }));

        Assert.Contains("CommandTimeout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ReservationTimeout", ex.Message, StringComparison.Ordinal);
    }
}
