using System.Collections.Concurrent;
using System.Text.Json;
using Keeptrusts.GatewayHost.Reporting;
using Keeptrusts.Policy.Evaluation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keeptrusts.GatewayHost.Tests.Gateway.Reporting;

/// <summary>Event reporting to a fake control plane on 127.0.0.1.</summary>
public sealed class ControlPlaneEventSinkTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Records_are_posted_in_batches_with_the_token_and_identity_fields()
    {
        var bodies = new ConcurrentQueue<(string? Auth, JsonElement Body)>();
        await using var api = await FakeHttpServer.StartAsync(async context =>
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body);
            bodies.Enqueue((context.Request.Headers.Authorization.ToString(), doc.RootElement.Clone()));
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
        using var http = new HttpClient();
        var sink = new ControlPlaneEventSink(Options(api.BaseUrl) with { BatchSize = 2, FlushInterval = TimeSpan.FromMilliseconds(50) }, http, TimeProvider.System, NullLogger.Instance);

        for (var i = 0; i < 5; i++)
        {
            await sink.WriteAsync(Record(i), CancellationToken.None);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(5, sink.Sent);
        Assert.Equal(0, sink.Dropped);
        Assert.All(bodies, static b => Assert.Equal("Bearer kt_gw_test", b.Auth));
        var events = bodies.SelectMany(static b => b.Body.GetProperty("events").EnumerateArray()).ToList();
        Assert.All(bodies, static b => Assert.InRange(b.Body.GetProperty("events").GetArrayLength(), 1, 2));
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], events.Select(static e => e.GetProperty("id").GetString()).Order());
        Assert.All(events, static e =>
        {
            Assert.Equal("alice", e.GetProperty("user_id").GetString());
            Assert.Equal("header_soft", e.GetProperty("identity_proof_method").GetString());
        });
        Assert.All(api.Requests, static r => Assert.Equal(("POST", "/v1/events"), (r.Method, r.Path)));
    }

    [Fact]
    public async Task A_failing_control_plane_is_retried_until_it_accepts()
    {
        var calls = 0;
        await using var api = await FakeHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) <= 2 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
        using var http = new HttpClient();
        var sink = new ControlPlaneEventSink(Options(api.BaseUrl), http, TimeProvider.System, NullLogger.Instance);

        await sink.WriteAsync(Record(1), CancellationToken.None);
        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(3, Volatile.Read(ref calls));
        Assert.Equal(1, sink.Sent);
        Assert.Equal(0, sink.Dropped);
    }

    [Fact]
    public async Task A_refused_batch_is_dropped_and_counted_without_retrying()
    {
        var calls = 0;
        await using var api = await FakeHttpServer.StartAsync(context =>
        {
            Interlocked.Increment(ref calls);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        });
        using var http = new HttpClient();
        var sink = new ControlPlaneEventSink(Options(api.BaseUrl), http, TimeProvider.System, NullLogger.Instance);

        await sink.WriteAsync(Record(1), CancellationToken.None);
        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.Equal(1, sink.Dropped);
        Assert.Equal(1, sink.FailedBatches);
    }

    [Fact]
    public async Task An_unreachable_control_plane_never_blocks_writers_and_the_queue_stays_bounded()
    {
        using var http = new HttpClient();
        var options = Options(new Uri($"http://127.0.0.1:{Ports.Unused()}")) with { QueueCapacity = 10, MaxAttempts = 2, DrainTimeout = TimeSpan.FromSeconds(2) };
        var sink = new ControlPlaneEventSink(options, http, TimeProvider.System, NullLogger.Instance);

        for (var i = 0; i < 1000; i++)
        {
            await sink.WriteAsync(Record(i), CancellationToken.None);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(0, sink.Sent);
        Assert.Equal(1000, sink.Dropped);
    }

    [Fact]
    public async Task After_disposal_records_are_counted_as_dropped()
    {
        using var http = new HttpClient();
        var sink = new ControlPlaneEventSink(Options(new Uri($"http://127.0.0.1:{Ports.Unused()}")), http, TimeProvider.System, NullLogger.Instance);
        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        await sink.WriteAsync(Record(1), CancellationToken.None);

        Assert.Equal(1, sink.Dropped);
    }

    private static EventReportingOptions Options(Uri api) => new()
    {
        ApiUrl = api,
        Token = "kt_gw_test",
        FlushInterval = TimeSpan.FromMilliseconds(20),
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        DrainTimeout = TimeSpan.FromSeconds(10),
    };

    private static DecisionRecord Record(int i) => new()
    {
        Id = "r" + i,
        Timestamp = DateTimeOffset.UnixEpoch,
        Decision = PolicyDecision.Allow,
        UserId = "alice",
        IdentityProofMethod = IdentityProofMethod.HeaderSoft,
    };
}
