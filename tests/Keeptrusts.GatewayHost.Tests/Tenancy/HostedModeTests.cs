using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.ControlPlaneEmulator.Storage;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Tests.Gateway;

namespace Keeptrusts.GatewayHost.Tests.Tenancy;

/// <summary>Hosted mode end to end: a gateway with no configuration of its own, tenants from the emulator, real sockets.</summary>
public sealed class HostedModeTests
{
    private const string Token = "kt_gw_hosted_token";
    private const string Seed = """
        tokens:
          - token: kt_gw_hosted_token
            permissions: [events:write, events:read, gateway_keys:resolve, config_vars:resolve]
        """;

    [Fact]
    public async Task Each_key_gets_its_own_chain_identity_and_events_and_unknown_keys_get_an_openai_401()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        AddTenant(api, "kt_gk_alpha_key_000000000001", "gk_alpha", "alice@example.com", "alpha", EchoChain("alpha", "redact"));
        AddTenant(api, "kt_gk_beta_key_0000000000001", "gk_beta", "bob@example.com", "beta", EchoChain("beta", "block"));
        await using var gateway = await StartHostedAsync(api);

        using var alpha = await ChatAsync(gateway, "kt_gk_alpha_key_000000000001", "echo-1", "mail dave@example.com please");
        using var beta = await ChatAsync(gateway, "kt_gk_beta_key_0000000000001", "echo-1", "mail dave@example.com please");
        using var unknown = await ChatAsync(gateway, "kt_gk_nobody_000000000000001", "echo-1", "hi");
        using var none = await ChatAsync(gateway, null, "echo-1", "hi");

        Assert.Equal(HttpStatusCode.OK, alpha.StatusCode);
        Assert.DoesNotContain("dave@example.com", await alpha.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, beta.StatusCode);
        foreach (var refused in new[] { unknown, none })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("invalid_api_key", (string?)error["code"]);
            Assert.NotNull((string?)error["message"]);
            Assert.Single(refused.Headers.GetValues("X-Keeptrusts-Request-Id"));
        }

        var alphaId = Assert.Single(alpha.Headers.GetValues("X-Keeptrusts-Request-Id"));
        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(api.Store.Events().Count(e => e.RequestId == alphaId)), n => n >= 1);
        var alphaEvent = api.Store.Events().First(e => e.RequestId == alphaId).Json;
        Assert.Equal("alice@example.com", (string?)alphaEvent["user_id"]);
        Assert.Equal("gateway_key", (string?)alphaEvent["identity_proof_method"]);
        Assert.Equal("gk_alpha", (string?)alphaEvent["key_id"]);
        Assert.Equal("gk_alpha@1", (string?)alphaEvent["config_revision"]);
        Assert.DoesNotContain("kt_gk_alpha_key", api.Store.Events().Select(static e => e.Json.ToJsonString()).Aggregate("", string.Concat), StringComparison.Ordinal);

        // The admin API lists tenants with their revisions and nothing secret.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/keeptrusts/tenants");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var tenants = await gateway.Http.SendAsync(request);
        var text = await tenants.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, tenants.StatusCode);
        Assert.Contains("\"key_id\":\"gk_alpha\"", text, StringComparison.Ordinal);
        Assert.Contains("\"revision\":\"gk_beta@1\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("kt_gk_", text, StringComparison.Ordinal);
        Assert.DoesNotContain("pii-detector", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_keys_in_parallel_never_see_each_others_credentials_and_each_key_is_resolved_once()
    {
        const int Tenants = 16;
        const int PerTenant = 12;
        await using var api = await EmulatorHost.StartAsync(Seed);
        await using var upstream = await FakeOpenAIUpstream.StartAsync();
        for (var t = 0; t < Tenants; t++)
        {
            AddTenant(api, Key(t), $"gk_{t}", $"owner{t}@example.com", $"team{t}", UpstreamChain($"tenant{t}", upstream.BaseUrl), new Dictionary<string, string> { ["OPENAI_API_KEY"] = $"sk-tenant-{t}-secret" });
        }

        await using var gateway = await StartHostedAsync(api);
        var answers = new ConcurrentBag<(int Tenant, HttpStatusCode Status)>();
        await Parallel.ForAsync(0, Tenants * PerTenant, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var t = i % Tenants;
            using var response = await ChatAsync(gateway, Key(t), "gpt-test", $"question from tenant{t}.");
            answers.Add((t, response.StatusCode));
        });

        Assert.All(answers, static a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var sent = upstream.Requests.Where(static r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(Tenants * PerTenant, sent.Count);
        var prompts = upstream.Prompts.ToList();
        Assert.Equal(Tenants * PerTenant, prompts.Count);

        // Each upstream call carried exactly the credential of the tenant whose prompt it carried.
        var byCredential = sent.GroupBy(static r => r.Headers.Authorization.ToString()).ToDictionary(static g => g.Key, static g => g.Count());
        Assert.Equal(Tenants, byCredential.Count);
        Assert.All(Enumerable.Range(0, Tenants), t => Assert.Equal(PerTenant, byCredential[$"Bearer sk-tenant-{t}-secret"]));
        Assert.Equal(Tenants, api.Store.KeyResolutions);

        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(api.Store.Events().Count), n => n >= Tenants * PerTenant);
        Assert.All(api.Store.Events(), static e =>
        {
            var keyId = (string?)e.Json["key_id"];
            Assert.Equal($"owner{keyId!["gk_".Length..]}@example.com", (string?)e.Json["user_id"]);
            Assert.Equal($"team{keyId["gk_".Length..]}", (string?)e.Json["team"]);
            Assert.DoesNotContain("sk-tenant-", e.Json.ToJsonString(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Bad_answers_for_one_key_answer_503_tenant_config_invalid_and_other_tenants_keep_serving()
    {
        await using var api = await EmulatorHost.StartAsync(Seed);
        AddTenant(api, "kt_gk_good_key_000000000001", "gk_good", "good@example.com", "good", EchoChain("good", "redact"));
        AddTenant(api, "kt_gk_broken_yaml_0000000001", "gk_broken", "broken@example.com", "broken", "pack: { name: broken\npolicies: [");
        AddTenant(api, "kt_gk_exec_target_000000001", "gk_exec", "x@example.com", "x", """
            pack: { name: exec, version: 1.0.0 }
            policies: { chain: [] }
            providers: { targets: [ { id: local, provider: "exec:/bin/sh" } ] }
            """);
        await using var gateway = await StartHostedAsync(api);
        using (var warm = await ChatAsync(gateway, "kt_gk_good_key_000000000001", "echo-1", "hello"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        using var broken = await ChatAsync(gateway, "kt_gk_broken_yaml_0000000001", "echo-1", "hello");
        using var exec = await ChatAsync(gateway, "kt_gk_exec_target_000000001", "echo-1", "hello");
        api.Faults.Set(FaultMode.Garbage, "/v1/gateway-keys");
        AddTenant(api, "kt_gk_new_during_garbage_01", "gk_new", "n@example.com", "n", EchoChain("new", "redact"));
        using var garbage = await ChatAsync(gateway, "kt_gk_new_during_garbage_01", "echo-1", "hello");
        api.Faults.Set(FaultMode.Oversized, "/v1/gateway-keys");
        AddTenant(api, "kt_gk_new_during_oversize1", "gk_big", "b@example.com", "b", EchoChain("big", "redact"));
        using var oversized = await ChatAsync(gateway, "kt_gk_new_during_oversize1", "echo-1", "hello");
        using var good = await ChatAsync(gateway, "kt_gk_good_key_000000000001", "echo-1", "hello again");

        foreach (var refused in new[] { broken, exec, garbage, oversized })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("tenant_config_invalid", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["code"]);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Contains("Hosted tenant gk_broken", gateway.Log, StringComparison.Ordinal);
        Assert.Contains("not available to hosted tenants", gateway.Log, StringComparison.Ordinal);
    }

    internal static string Key(int t) => $"kt_gk_tenant_{t:D4}_abcdefghijkl";

    internal static void AddTenant(RunningEmulator api, string key, string keyId, string owner, string team, string yaml, Dictionary<string, string>? variables = null, string version = "1") =>
        api.Store.SetGatewayKey(new GatewayKeyRecord
        {
            KeySha256 = GatewayKeyRecord.Hash(key),
            KeyId = keyId,
            Owner = owner,
            Team = team,
            Scopes = ["chat"],
            ConfigVersion = version,
            PolicyConfig = yaml,
            Variables = variables ?? [],
        });

    internal static string EchoChain(string name, string action) => action == "block"
        ? $$"""
            pack: { name: {{name}}, version: 1.0.0 }
            policies: { chain: [pii-detector] }
            policy: { pii-detector: { action: block } }
            providers: { targets: [ { id: echo, provider: echo, model: echo-1 } ] }
            """
        : $$"""
            pack: { name: {{name}}, version: 1.0.0 }
            policies: { chain: [pii-detector] }
            policy: { pii-detector: { action: redact } }
            providers: { targets: [ { id: echo, provider: echo, model: echo-1 } ] }
            """;

    private static string UpstreamChain(string name, Uri upstream) => $$"""
        pack: { name: {{name}}, version: 1.0.0 }
        policies: { chain: [pii-detector] }
        providers:
          targets:
            - id: upstream
              provider: openai
              model: gpt-test
              base_url: {{upstream.ToString().TrimEnd('/')}}
              secret_key_ref: { env: OPENAI_API_KEY }
        """;

    internal static async Task<GatewayUnderTest> StartHostedAsync(RunningEmulator api) =>
        await GatewayUnderTest.StartAsync(s => s with
        {
            ConfigFiles = [],
            Hosted = true,
            ApiUrl = api.BaseAddress,
            ApiToken = Token,
            DataDirectory = Path.Combine(Path.GetTempPath(), "kt-hosted-" + Guid.NewGuid().ToString("N")),
        });

    internal static Task<HttpResponseMessage> ChatAsync(GatewayUnderTest gateway, string? key, string model, string prompt)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":" + JsonSerializer.Serialize(prompt) + "}]}", Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return gateway.Http.SendAsync(request);
    }
}
