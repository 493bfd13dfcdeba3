using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.Gateway;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli.Events;

/// <summary><c>kt events list|tail</c> against the emulator, and <c>kt doctor</c>'s control-plane checks.</summary>
public sealed class EventsCommandTests : IDisposable
{
    private const string Seed = """
        tokens:
          - token: kt_reader
            permissions: [events:read, events:write, config_vars:resolve]
          - token: kt_no_read
            permissions: [events:write]
        config_variables:
          OPENAI_API_KEY: sk-never-printed-value
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task List_prints_a_table_or_json_of_the_recent_events()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        api.Store.AddEvents(Enumerable.Range(0, 8).Select(static i => Event(i)));

        var table = await KtWithEnvironment.RunAsync(_dir.Path, Env(api, "kt_reader"), "events", "list", "--since", "1h", "--limit", "5");
        var json = await KtWithEnvironment.RunAsync(_dir.Path, Env(api, "kt_reader"), "events", "list", "--since", "1h", "--limit", "5", "--format", "json");

        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("TIME", table.OutLines[0], StringComparison.Ordinal);
        Assert.Equal(6, table.OutLines.Length);
        Assert.Contains("req_0", table.OutLines[1], StringComparison.Ordinal);
        Assert.Contains("alice@example.com", table.OutLines[1], StringComparison.Ordinal);
        Assert.Equal(0, json.ExitCode);
        var events = JsonNode.Parse(json.Out)!.AsArray();
        Assert.Equal(["req_0", "req_1", "req_2", "req_3", "req_4"], events.Select(static e => (string?)e!["request_id"]));
    }

    [Fact]
    public async Task List_fails_with_one_line_without_a_control_plane_or_with_a_refused_token()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);

        var noUrl = await KtWithEnvironment.RunAsync(_dir.Path, new Dictionary<string, string>(), "events", "list");
        var refused = await KtWithEnvironment.RunAsync(_dir.Path, Env(api, "kt_no_read"), "events", "list");
        var badSince = await KtWithEnvironment.RunAsync(_dir.Path, Env(api, "kt_reader"), "events", "list", "--since", "yesterday");

        Assert.Equal(2, noUrl.ExitCode);
        Assert.Contains("KEEPTRUSTS_API_URL is not set", Assert.Single(noUrl.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("HTTP 403", Assert.Single(refused.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(1, badSince.ExitCode);
        Assert.Contains("since must be a duration", Assert.Single(badSince.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tail_prints_only_events_that_arrive_after_it_starts()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        api.Store.AddEvents([Event(0)]);
        var output = new StringWriter();
        var console = KtWithEnvironment.Console(TextWriter.Synchronized(output), new StringWriter(), _dir.Path, Env(api, "kt_reader"));
        using var stop = new CancellationTokenSource();
        var tail = Task.Run(() => KtCommand.RunAsync(["events", "tail", "--interval", "0.1", "--format", "json"], console, stop.Token));
        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(api.Store.Events().Count), static n => n == 1);

        // Wait for the first poll, then add events.
        await Task.Delay(300);
        api.Store.AddEvents([Event(1), Event(2)]);
        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(output.ToString()), static o => o.Contains("req_2", StringComparison.Ordinal));
        await stop.CancelAsync();
        Assert.Equal(0, await tail.WaitAsync(Kt.HangLimit));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["req_1", "req_2"], lines.Select(static l => (string?)JsonNode.Parse(l)!["request_id"]));
    }

    [Fact]
    public async Task Doctor_checks_the_control_plane_connection_the_event_pipeline_and_store_references()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        var config = _dir.Write("policy-config.yaml", """
            pack: { name: doctor-cp, version: 0.1.0 }
            policies: { chain: [] }
            providers:
              targets:
                - id: primary
                  provider: echo
                  model: echo-1
                - id: stored
                  provider: openai
                  model: gpt-test
                  base_url: http://127.0.0.1:9/v1
                  secret_key_ref: { store: OPENAI_API_KEY }
            """);
        var env = new Dictionary<string, string> { ["KEEPTRUSTS_API_URL"] = api.BaseAddress.ToString(), ["KEEPTRUSTS_GATEWAY_TOKEN"] = "kt_reader" };

        var healthy = await KtWithEnvironment.RunAsync(_dir.Path, env, "doctor", "--policy-config", config, "--format", "json", "--timeout", "5");
        api.Faults.Set(FaultMode.Unavailable, "/v1/events");
        var failing = await KtWithEnvironment.RunAsync(_dir.Path, env, "doctor", "--policy-config", config, "--format", "json", "--timeout", "5");

        Assert.Equal("ok", Status(healthy, "control-plane"));
        Assert.Equal("ok", Status(healthy, "event-pipeline"));
        Assert.Equal("ok", Status(healthy, "credentials", "stored"));
        Assert.Contains("evt_doctor_", Detail(healthy, "event-pipeline"), StringComparison.Ordinal);
        Assert.Contains(api.Store.Events(), static e => e.EventId!.StartsWith("evt_doctor_", StringComparison.Ordinal));
        Assert.DoesNotContain("sk-never-printed-value", healthy.Out, StringComparison.Ordinal);
        Assert.Equal(1, failing.ExitCode);
        Assert.Equal("fail", Status(failing, "event-pipeline"));
        Assert.Contains("HTTP 503", Detail(failing, "event-pipeline"), StringComparison.Ordinal);
    }

    private static string? Status(KtRun run, string name, string? target = null) => (string?)Check(run, name, target)["status"];

    private static string Detail(KtRun run, string name) => (string)Check(run, name, null)["detail"]!;

    private static JsonNode Check(KtRun run, string name, string? target) =>
        JsonNode.Parse(run.Out)!["checks"]!.AsArray().First(c => (string?)c!["name"] == name && (target is null || (string?)c["target"] == target))!;

    private static Dictionary<string, string> Env(RunningEmulator api, string token) =>
        new() { ["KEEPTRUSTS_API_URL"] = api.BaseAddress.ToString(), ["KEEPTRUSTS_API_TOKEN"] = token };

    private static JsonObject Event(int i) => JsonNode.Parse(JsonSerializer.Serialize(new
    {
        event_id = "evt_" + i,
        timestamp = "2026-12-03T10:00:00.0000000Z",
        request_id = "req_" + i,
        decision = "allow",
        user_id = "alice@example.com",
        gateway_name = "team-alpha",
        model = "gpt-4o",
    }))!.AsObject();
}
