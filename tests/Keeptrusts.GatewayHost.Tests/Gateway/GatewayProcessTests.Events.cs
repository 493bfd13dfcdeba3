using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>The event spool of a real <c>kt gateway run</c> process across <c>kill -9</c>.</summary>
public sealed partial class GatewayProcessTests
{
    private const string EventsToken = "kt_gw_process_token";

    private const string EchoConfig = """
        pack: { name: spool-e2e, version: 0.1.0 }
        policies:
          chain: [pii-detector]
        policy:
          pii-detector: { action: redact }
        providers:
          targets:
            - id: echo
              provider: echo
              model: echo-1
        """;

    [Fact]
    public async Task Every_request_id_reaches_the_control_plane_after_the_api_went_away_and_the_gateway_was_killed()
    {
        const int Requests = 2000;
        await using var api = await EmulatorHost.StartAsync($$"""
            tokens:
              - token: {{EventsToken}}
                permissions: [events:write, events:read]
            """);
        api.Faults.Set(FaultMode.Unavailable, "/v1/events");
        var config = _dir.Write("policy-config.yaml", EchoConfig);
        var dataDir = Path.Combine(_dir.Path, "data");
        var environment = new Dictionary<string, string> { ["KEEPTRUSTS_API_URL"] = api.BaseAddress.ToString(), ["KEEPTRUSTS_GATEWAY_TOKEN"] = EventsToken };
        string[] args = ["gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0", "--no-watch", "--data-dir", dataDir];

        var requestIds = new ConcurrentBag<string>();
        var first = KtProcess.Start(_dir.Path, environment, args);
        await using (first)
        {
            var http = await first.WaitUntilListeningAsync();
            await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                using var response = await http.PostAsync("/v1/chat/completions", new StringContent(EchoBody($"message {i} from carol@example.com"), Encoding.UTF8, "application/json"), ct);
                Assert.True(response.IsSuccessStatusCode, $"request {i}: {(int)response.StatusCode}");
                requestIds.Add(Assert.Single(response.Headers.GetValues("X-Keeptrusts-Request-Id")));
            });

            // Every record is on disk (nothing left in memory) before the process is killed without warning.
            await GatewayLifecycleTests.PollAsync(() => EventStatusAsync(http), s => (long?)s["in_memory"] == 0 && (long?)s["queued"] >= 2 * Requests);
            Assert.Empty(api.Store.Events());
            first.KillNow();
        }

        Assert.Equal(Requests, requestIds.Distinct().Count());
        var second = KtProcess.Start(_dir.Path, environment, args);
        await using (second)
        {
            await second.WaitUntilListeningAsync();
            api.Faults.Set(FaultMode.None, null);
            await GatewayLifecycleTests.PollAsync(() => Task.FromResult(api.Store.Events().Count), n => n >= 2 * Requests);
        }

        var events = api.Store.Events();
        var received = events.Select(static e => e.RequestId).ToHashSet();
        Assert.All(requestIds, id => Assert.Contains(id, received));
        Assert.Single(events.Select(static e => (string?)e.Json["instance_id"]).Distinct());
        Assert.All(events, static e => Assert.DoesNotContain("carol@example.com", e.Json.ToJsonString(), StringComparison.Ordinal));
    }

    private static string EchoBody(string prompt) =>
        "{\"model\":\"echo-1\",\"messages\":[{\"role\":\"user\",\"content\":" + System.Text.Json.JsonSerializer.Serialize(prompt) + "}]}";

    private static async Task<JsonObject> EventStatusAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/keeptrusts/events/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", EventsToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private sealed partial class KtProcess
    {
        /// <summary>SIGKILL: no drain, no flush, no chance to clean up.</summary>
        public void KillNow()
        {
            _process.Kill();
            _process.WaitForExit(30_000);
        }
    }
}
