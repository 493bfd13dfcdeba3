using System.Text.Json.Nodes;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.GatewayHost.Reporting;
using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keeptrusts.GatewayHost.Tests.Gateway.Reporting;

/// <summary>Event reporting through the spool to the control-plane emulator on 127.0.0.1.</summary>
public sealed class ControlPlaneEventSinkTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private const string Token = "kt_gw_test";
    private const string Seed = """
        tokens:
          - token: kt_gw_test
            permissions: [events:write, events:read]
        """;

    private readonly string _dataDir = Directory.CreateTempSubdirectory("kt-spool-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    [Fact]
    public async Task Events_carry_the_contract_fields_in_order_and_findings_without_text()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        using var http = new HttpClient();
        var sink = ControlPlaneEventSink.Start(Options(api.BaseAddress), http, TimeProvider.System, NullLogger.Instance);

        for (var i = 0; i < 5; i++)
        {
            await sink.WriteAsync(Record(i), CancellationToken.None);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        var events = api.Store.Events().Select(static e => e.Json).ToList();
        Assert.Equal(["e0", "e1", "e2", "e3", "e4"], events.Select(static e => (string?)e["event_id"]));
        Assert.Equal(["req_0", "req_1", "req_2", "req_3", "req_4"], events.Select(static e => (string?)e["request_id"]));
        var first = events[0];
        Assert.Equal("gw_test_instance", (string?)first["instance_id"]);
        Assert.Equal("9.9.9-test", (string?)first["gateway_version"]);
        Assert.Equal("alice", (string?)first["user_id"]);
        Assert.Equal("header_soft", (string?)first["identity_proof_method"]);
        Assert.Equal("redact", (string?)first["decision"]);
        Assert.Equal("rev-1", (string?)first["config_revision"]);
        Assert.Equal("team-alpha", (string?)first["gateway_name"]);
        var finding = Assert.Single(first["findings"]!.AsArray())!.AsObject();
        Assert.Equal(["policy", "type", "text", "start", "end"], finding.Select(static p => p.Key));
        Assert.Equal("EMAIL_ADDRESS", (string?)finding["type"]);
        Assert.Equal(5, (int?)finding["start"]);
        Assert.DoesNotContain("secret-detail", first.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(5, sink.Sent);
        Assert.Equal(0, sink.Dropped);
        Assert.Equal(0, api.Store.DuplicateEvents);
    }

    [Fact]
    public async Task A_failing_control_plane_is_retried_until_it_accepts_and_nothing_is_lost()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        api.Faults.Set(FaultMode.Unavailable, "/v1/events");
        using var http = new HttpClient();
        var sink = ControlPlaneEventSink.Start(Options(api.BaseAddress), http, TimeProvider.System, NullLogger.Instance);

        for (var i = 0; i < 300; i++)
        {
            await sink.WriteAsync(Record(i), CancellationToken.None);
        }

        await WaitUntil(() => sink.Status.Retried >= 2);
        Assert.Empty(api.Store.Events());
        api.Faults.Set(FaultMode.None, null);
        await WaitUntil(() => api.Store.Events().Count == 300);
        await sink.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 300).Select(static i => "req_" + i), api.Store.Events().Select(static e => e.RequestId));
        Assert.Equal(300, sink.Sent);
        Assert.Equal(0, sink.Dropped);
    }

    [Fact]
    public async Task Writers_never_wait_and_what_an_unreachable_api_did_not_take_is_sent_after_a_restart()
    {
        var unreachable = new Uri($"http://127.0.0.1:{Ports.Unused()}/");
        using var http = new HttpClient();
        var sink = ControlPlaneEventSink.Start(Options(unreachable) with { QueueCapacity = 10, DrainTimeout = TimeSpan.FromMilliseconds(200) }, http, TimeProvider.System, NullLogger.Instance);
        for (var i = 0; i < 2000; i++)
        {
            var write = sink.WriteAsync(Record(i), CancellationToken.None);
            Assert.True(write.IsCompletedSuccessfully);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(0, sink.Sent);
        Assert.Equal(0, sink.Dropped);

        await using var api = await EmulatorHost.StartAsync(Seed);
        var restarted = ControlPlaneEventSink.Start(Options(api.BaseAddress), http, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(2000, restarted.Status.Queued);
        await WaitUntil(() => api.Store.Events().Count == 2000);
        await restarted.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 2000).Select(static i => "req_" + i), api.Store.Events().Select(static e => e.RequestId));
        Assert.Equal(0, restarted.Status.Queued);
    }

    [Fact]
    public async Task Past_the_size_bound_the_oldest_segment_is_dropped_and_counted()
    {
        using var http = new HttpClient();
        var unreachable = new Uri($"http://127.0.0.1:{Ports.Unused()}/");
        var options = Options(unreachable) with { MaxSpoolBytes = 64 * 1024, SegmentBytes = 16 * 1024, DrainTimeout = TimeSpan.FromMilliseconds(100) };
        var sink = ControlPlaneEventSink.Start(options, http, TimeProvider.System, NullLogger.Instance);
        for (var i = 0; i < 1000; i++)
        {
            await sink.WriteAsync(Record(i), CancellationToken.None);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(Bound);
        var dropped = sink.Dropped;
        Assert.True(dropped > 0, "the bound was passed, so some events were dropped");

        await using var api = await EmulatorHost.StartAsync(Seed);
        var restarted = ControlPlaneEventSink.Start(Options(api.BaseAddress) with { MaxSpoolBytes = 64 * 1024, SegmentBytes = 16 * 1024 }, http, TimeProvider.System, NullLogger.Instance);
        await WaitUntil(() => restarted.Status.Queued == 0);
        await restarted.DisposeAsync().AsTask().WaitAsync(Bound);

        // What survived is the newest events, in order, with nothing missing after the first one kept.
        var received = api.Store.Events().Select(static e => int.Parse(e.RequestId!["req_".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(1000 - dropped, received.Count);
        Assert.Equal(Enumerable.Range((int)dropped, received.Count), received);
        Assert.True(Directory.EnumerateFiles(Path.Combine(_dataDir, "events"), "events-*.jsonl").Sum(static f => new FileInfo(f).Length) <= 64 * 1024);
    }

    [Fact]
    public void A_torn_last_line_is_cut_off_when_the_spool_is_opened_again()
    {
        var dir = Path.Combine(_dataDir, "torn");
        using (var spool = EventSpool.Open(dir, 1 << 20, 1 << 20, NullLogger.Instance))
        {
            spool.Append("{\"event_id\":\"a\"}\n{\"event_id\":\"b\"}\n"u8, 2);
        }

        File.AppendAllText(Directory.EnumerateFiles(dir, "events-*.jsonl").Single(), "{\"event_id\":\"c\",\"requ");

        using var reopened = EventSpool.Open(dir, 1 << 20, 1 << 20, NullLogger.Instance);
        Assert.Equal(2, reopened.PendingEvents);
        var batch = reopened.Read(10, 1 << 20)!;
        var events = JsonNode.Parse(batch.Body)!["events"]!.AsArray();
        Assert.Equal(["a", "b"], events.Select(static e => (string?)e!["event_id"]));
        reopened.Acknowledge(batch);
        Assert.Null(reopened.Read(10, 1 << 20));
        Assert.Equal(0, reopened.PendingEvents);
    }

    [Fact]
    public void An_acknowledged_position_survives_reopening_and_nothing_is_read_twice()
    {
        var dir = Path.Combine(_dataDir, "cursor");
        using (var spool = EventSpool.Open(dir, 1 << 20, 64, NullLogger.Instance))
        {
            for (var i = 0; i < 10; i++)
            {
                spool.Append(System.Text.Encoding.UTF8.GetBytes($"{{\"event_id\":\"{i}\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}\n"), 1);
            }

            var sent = 0;
            while (sent < 4 && spool.Read(2, 1 << 20) is { } batch)
            {
                spool.Acknowledge(batch);
                sent += batch.Count;
            }
        }

        using var reopened = EventSpool.Open(dir, 1 << 20, 64, NullLogger.Instance);
        var ids = new List<string?>();
        while (reopened.Read(3, 1 << 20) is { } batch)
        {
            ids.AddRange(JsonNode.Parse(batch.Body)!["events"]!.AsArray().Select(static e => (string?)e!["event_id"]));
            reopened.Acknowledge(batch);
        }

        Assert.Equal(["4", "5", "6", "7", "8", "9"], ids);
        Assert.Single(Directory.EnumerateFiles(dir, "events-*.jsonl"));
    }

    [Fact]
    public void A_second_gateway_on_the_same_data_directory_is_refused()
    {
        var dir = Path.Combine(_dataDir, "locked");
        using var first = EventSpool.Open(dir, 1 << 20, 1 << 20, NullLogger.Instance);

        var ex = Assert.Throws<IOException>(() => EventSpool.Open(dir, 1 << 20, 1 << 20, NullLogger.Instance));
        Assert.Contains("in use by another gateway", ex.Message, StringComparison.Ordinal);
    }

    private EventReportingOptions Options(Uri api) => new()
    {
        ApiUrl = api,
        Token = Token,
        SpoolDirectory = Path.Combine(_dataDir, "events"),
        InstanceId = "gw_test_instance",
        GatewayVersion = "9.9.9-test",
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        DrainTimeout = TimeSpan.FromSeconds(10),
    };

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static DecisionRecord Record(int i) => new()
    {
        Id = "e" + i,
        RequestId = "req_" + i,
        Timestamp = DateTimeOffset.UnixEpoch,
        PackName = "team-alpha",
        ConfigRevision = "rev-1",
        Decision = PolicyDecision.Redact,
        UserId = "alice",
        IdentityProofMethod = IdentityProofMethod.HeaderSoft,
        Policies =
        [
            new PolicyOutcome
            {
                Policy = "pii-detector",
                Decision = PolicyDecision.Redact,
                Enforced = true,
                Findings = [new PolicyFinding("pii-detector", "EMAIL_ADDRESS") { Text = 0, Start = 5, End = 22, Detail = "secret-detail", Score = 0.9 }],
            },
        ],
    };
}
