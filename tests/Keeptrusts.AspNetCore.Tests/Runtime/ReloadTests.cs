using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.AspNetCore.Tests.Endpoints;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.AspNetCore.Tests.Runtime;

public sealed class ReloadTests
{
    private const string Request = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task A_request_in_flight_finishes_on_the_revision_it_started_with()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = async (http, request) =>
        {
            if (FakeUpstream.LastUserText(request) == "slow")
            {
                arrived.TrySetResult();
                await release.Task.WaitAsync(Patience.Limit);
            }

            await FakeUpstream.Completion(http, request, "reach me at ops@example.com");
        };

        // The old revision redacts e-mail addresses in answers; the new one does not look at answers at all.
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));
        var old = gateway.Runtime.Current.Revision;
        var slow = ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"slow"}]}""");
        await arrived.Task.Within();

        var result = await gateway.Runtime.ReloadAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [falcon] } }"), Patience.Token());
        using var fresh = await ChatCompletionsTests.PostAsync(gateway, Request);
        release.SetResult();
        using var finished = await slow.Within();

        Assert.True(result.Success);
        Assert.Equal(old, finished.Headers.GetValues("X-Keeptrusts-Revision").Single());
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", await finished.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(result.Revision, fresh.Headers.GetValues("X-Keeptrusts-Revision").Single());
        Assert.Contains("ops@example.com", await fresh.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_records_of_both_revisions_are_all_written_in_order_with_an_unbroken_chain()
    {
        var directory = Directory.CreateTempSubdirectory("kt-audit-");
        var auditPath = Path.Combine(directory.FullName, "audit.jsonl");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = async (http, request) =>
        {
            if (FakeUpstream.LastUserText(request) == "slow")
            {
                arrived.TrySetResult();
                await release.Task.WaitAsync(Patience.Limit);
            }

            await FakeUpstream.Completion(http, request, "done");
        };
        string Audited(string extraPolicy) => Configs.OpenAI(
            upstream.BaseUrl,
            chain: "[pii-detector, audit-logger]",
            policy: $"pii-detector: {{ action: {extraPolicy} }}\n  audit-logger: {{ immutable: true, log_all_access: true, path: '{auditPath}' }}");

        var gateway = await TestGateway.StartAsync(Audited("redact"));
        try
        {
            var slow = ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"slow"}]}""");
            await arrived.Task.Within();
            var reload = await gateway.Runtime.ReloadAsync(Audited("warn"), Patience.Token());
            Assert.True(reload.Success);

            // New requests complete on the new revision while the old one still has a request in flight.
            for (var i = 0; i < 3; i++)
            {
                using var response = await ChatCompletionsTests.PostAsync(gateway, Request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            release.SetResult();
            using var finished = await slow.Within();
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var file = Assert.Single(Directory.GetFiles(directory.FullName, "audit.*.jsonl"));
        var raw = File.ReadAllLines(file);
        var lines = raw.Select(static l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(8, lines.Count);

        // The old revision's two records come first: the new one held its writes until the old file was closed.
        var slowRequest = (string?)lines[0]["request_id"];
        Assert.Equal(slowRequest, (string?)lines[1]["request_id"]);
        Assert.DoesNotContain(lines.Skip(2), l => (string?)l["request_id"] == slowRequest);
        // The chain: each prev_hash is the SHA-256 of the line before it, byte for byte, across the swap.
        for (var i = 1; i < lines.Count; i++)
        {
            Assert.Equal(Sha256(raw[i - 1]), (string?)lines[i]["prev_hash"]);
        }

        directory.Delete(recursive: true);
    }

    private static string Sha256(string line) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(line)));

    [Fact]
    public async Task A_replaced_revision_cancels_its_requests_after_the_drain_timeout()
    {
        var clock = new ManualTime(new DateTimeOffset(2025, 6, 2, 9, 0, 0, TimeSpan.Zero));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstreamCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = async (http, request) =>
        {
            arrived.TrySetResult();
            try
            {
                await Task.Delay(Patience.Limit, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                upstreamCancelled.TrySetResult();
            }
        };
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl), o =>
        {
            o.TimeProvider = clock;
            o.DrainTimeout = TimeSpan.FromSeconds(30);
        });
        var stuck = ChatCompletionsTests.PostAsync(gateway, Request);
        await arrived.Task.Within();
        var old = gateway.Runtime.Current;

        await gateway.Runtime.ReloadAsync(Configs.OpenAI(upstream.BaseUrl, policy: "pii-detector: { action: block }"), Patience.Token());
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(stuck.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        using var response = await stuck.Within();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("reloaded", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("code").GetString());
        await upstreamCancelled.Task.Within();
        Assert.NotSame(old, gateway.Runtime.Current);
    }

    [Fact]
    public async Task An_invalid_reload_returns_every_finding_and_keeps_the_revision()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));
        var before = gateway.Runtime.Current;

        var result = await gateway.Runtime.ReloadAsync("pack: { name: Bad Name, version: x }\npolicies:\n  chain: [pii-detector]\n  extra: 1\n", Patience.Token());

        Assert.False(result.Success);
        Assert.False(result.Changed);
        Assert.Equal(before.Revision, result.Revision);
        Assert.Same(before, gateway.Runtime.Current);
        Assert.Contains(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Location.Line == 1);
        Assert.Contains(result.Diagnostics, d => d.Location.Line == 4);
    }

    [Fact]
    public async Task A_changed_file_reloads_when_watched()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var directory = Directory.CreateTempSubdirectory("kt-watch-");
        var file = Path.Combine(directory.FullName, "policy-config.yaml");
        File.WriteAllText(file, Configs.OpenAI(upstream.BaseUrl));
        await using (var gateway = await TestGateway.StartAsync(string.Empty, o =>
        {
            o.ConfigFiles.Add(file);
            o.WatchConfigFiles = true;
            o.ReloadDebounce = TimeSpan.FromMilliseconds(50);
        }))
        {
            var before = gateway.Runtime.Current.Revision;
            File.WriteAllText(file, Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [falcon] } }"));

            using var patience = new CancellationTokenSource(Patience.Limit);
            while (gateway.Runtime.Current.Revision == before)
            {
                await Task.Delay(20, patience.Token);
            }

            Assert.Equal(["content-filter"], gateway.Runtime.Current.Config.Policies.Chain);
        }

        directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Spend_survives_a_reload()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        string Config(string action) => $$"""
            pack: { name: gateway-tests, version: 0.1.0 }
            policies:
              chain: [pii-detector, spend-limit]
            policy:
              pii-detector: { action: {{action}} }
              spend-limit: { max_daily_usd: 0.00003, estimated_output_tokens: 10 }
            providers:
              targets:
                - id: primary
                  provider: openai
                  base_url: {{upstream.BaseUrl}}
                  models:
                    - id: gpt-4o-mini
                      pricing: { input_usd_per_million: 1, output_usd_per_million: 1 }
            """;
        await using var gateway = await TestGateway.StartAsync(Config("redact"));
        using (var first = await ChatCompletionsTests.PostAsync(gateway, Request))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await gateway.Runtime.ReloadAsync(Config("warn"), Patience.Token());
        using var second = await ChatCompletionsTests.PostAsync(gateway, Request);

        // Each request is estimated at 18 tokens ($0.000018 at $1 per million) and the first one used 18: a budget of
        // $0.00003 fits one request a day, so the second is refused only if the first one's spend was kept.
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Equal("spend_limit_exceeded", (await ChatCompletionsTests.ErrorAsync(second)).GetProperty("code").GetString());
    }
}
