using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Keeptrusts.AspNetCore.Tests.Endpoints;
using Keeptrusts.AspNetCore.Tests.Identity;
using Keeptrusts.AspNetCore.Tests.TestSupport;

namespace Keeptrusts.AspNetCore.Tests.Admin;

public sealed class AdminApiTests
{
    private const string Token = "kt_gw_admin_token_9d8c7b6a5f4e3d2c";

    [Theory]
    [InlineData("GET", "/keeptrusts/config")]
    [InlineData("POST", "/keeptrusts/config/reload")]
    public async Task Without_an_admin_token_the_runtime_api_does_not_exist(string method, string path)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await SendAsync(gateway, method, path, Token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ChatCompletionsTests.ErrorAsync(response);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("kt_gw_admin_token_9d8c7b6a5f4e3d2")]
    public async Task A_missing_or_wrong_token_gets_401(string? token)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl), o => o.AdminToken = Token);

        foreach (var (method, path) in new[] { ("GET", "/keeptrusts/config"), ("POST", "/keeptrusts/config/reload") })
        {
            using var response = await SendAsync(gateway, method, path, token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("authentication_error", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("type").GetString());
        }

        Assert.DoesNotContain(Token, gateway.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_running_config_is_shown_with_every_secret_masked()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var yaml = $$"""
            pack: { name: gateway-tests, version: 0.1.0 }
            policies:
              chain: [content-filter]
            policy:
              content-filter:
                input:
                  deny_keywords: [falcon, sk-proj-AbCdEf0123456789GhIjKl]
            providers:
              targets:
                - id: primary
                  provider: openai
                  base_url: {{upstream.BaseUrl}}
                  model: gpt-4o-mini
                  secret_key_ref: { env: KT_TEST_UPSTREAM_KEY }
            {{IdentityModeTests.KeysSection("gateway_key", requireVerified: false)}}
            """;
        Environment.SetEnvironmentVariable("KT_TEST_UPSTREAM_KEY", "sk-upstream-secret-value-123456");
        await using var gateway = await TestGateway.StartAsync(yaml, o => o.AdminToken = Token);

        using var response = await SendAsync(gateway, "GET", "/keeptrusts/config", Token);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(gateway.Runtime.Current.Revision, json.RootElement.GetProperty("revision").GetString());
        var config = json.RootElement.GetProperty("config");
        Assert.Equal("KT_TEST_UPSTREAM_KEY", config.GetProperty("providers").GetProperty("targets")[0].GetProperty("secret_key_ref").GetProperty("env").GetString());
        Assert.Equal("gateway_key", config.GetProperty("runtime_identity").GetProperty("mode").GetString());
        Assert.Contains("falcon", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-proj-AbCdEf0123456789GhIjKl", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-secret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Keeptrusts.Policy.Identity.GatewayKeys.Hash(IdentityModeTests.Key), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_reload_swaps_the_config_and_later_requests_follow_it()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl), o => o.AdminToken = Token);
        var before = gateway.Runtime.Current.Revision;
        var blocking = Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [falcon] } }");

        using var reload = await SendAsync(gateway, "POST", "/keeptrusts/config/reload", Token, blocking, "application/x-yaml");
        using var json = JsonDocument.Parse(await reload.Content.ReadAsStringAsync());
        using var blocked = await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"falcon"}]}""");

        Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        Assert.Equal("reloaded", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(before, json.RootElement.GetProperty("previous_revision").GetString());
        Assert.NotEqual(before, json.RootElement.GetProperty("revision").GetString());
        Assert.Equal(gateway.Runtime.Current.Revision, json.RootElement.GetProperty("revision").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Equal(json.RootElement.GetProperty("revision").GetString(), blocked.Headers.GetValues("X-Keeptrusts-Revision").Single());
    }

    [Fact]
    public async Task Reloading_the_same_document_changes_nothing()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var yaml = Configs.OpenAI(upstream.BaseUrl);
        await using var gateway = await TestGateway.StartAsync(yaml, o => o.AdminToken = Token);
        var snapshot = gateway.Runtime.Current;

        using var reload = await SendAsync(gateway, "POST", "/keeptrusts/config/reload", Token, yaml, "application/json");
        using var json = JsonDocument.Parse(await reload.Content.ReadAsStringAsync());

        Assert.Equal("unchanged", json.RootElement.GetProperty("status").GetString());
        Assert.Same(snapshot, gateway.Runtime.Current);
    }

    [Fact]
    public async Task An_invalid_reload_is_refused_with_positioned_diagnostics_and_the_old_config_keeps_serving()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl), o => o.AdminToken = Token);
        var before = gateway.Runtime.Current.Revision;
        const string broken = "pack: { name: gateway-tests, version: 0.1.0 }\npolicies:\n  chain: [no-such-policy]\nproviders:\n  targets:\n    - id: primary\n      provider: webhook\n";

        using var reload = await SendAsync(gateway, "POST", "/keeptrusts/config/reload", Token, broken, "application/x-yaml");
        using var json = JsonDocument.Parse(await reload.Content.ReadAsStringAsync());
        using var served = await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"still me"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, reload.StatusCode);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("invalid_configuration", error.GetProperty("code").GetString());
        var diagnostics = error.GetProperty("diagnostics").EnumerateArray().ToList();
        Assert.Contains(diagnostics, d => d.GetProperty("code").GetString() == "KT2101" && d.GetProperty("line").GetInt32() == 3 && d.GetProperty("column").GetInt32() > 0);
        Assert.Contains(diagnostics, d => d.GetProperty("code").GetString() == "KT2202" && d.GetProperty("line").GetInt32() == 7);
        Assert.Equal(before, json.RootElement.GetProperty("revision").GetString());
        Assert.Equal(before, gateway.Runtime.Current.Revision);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task An_empty_reload_rereads_the_files()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("kt-reload-").FullName, "policy-config.yaml");
        File.WriteAllText(file, Configs.OpenAI(upstream.BaseUrl));
        await using var gateway = await TestGateway.StartAsync(string.Empty, o =>
        {
            o.ConfigFiles.Add(file);
            o.AdminToken = Token;
        });
        var before = gateway.Runtime.Current.Revision;
        File.WriteAllText(file, Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [falcon] } }"));

        using var reload = await SendAsync(gateway, "POST", "/keeptrusts/config/reload", Token);

        Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        Assert.NotEqual(before, gateway.Runtime.Current.Revision);
        Assert.Equal(["content-filter"], gateway.Runtime.Current.Config.Policies.Chain);
        Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
    }

    [Theory]
    [InlineData(Token, null)]
    [InlineData(null, null)]
    [InlineData(Token, "wrong-token")]
    public async Task Provider_metrics_are_served_per_target_to_anyone(string? adminToken, string? callerToken)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl), o => o.AdminToken = adminToken);
        using (await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""))
        {
        }

        using var response = await SendAsync(gateway, "GET", "/keeptrusts/providers/metrics", callerToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var target = Assert.Single(json.RootElement.GetProperty("targets").EnumerateArray().ToList());
        Assert.Equal("primary", target.GetProperty("target_id").GetString());
        Assert.Equal(1, target.GetProperty("requests").GetInt64());
        Assert.Equal("closed", target.GetProperty("breaker_state").GetString());
        Assert.Equal(16, json.RootElement.GetProperty("max_concurrency").GetInt32());
    }

    [Fact]
    public async Task A_gateway_key_with_the_admin_scope_opens_the_runtime_api_in_gateway_key_mode()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var admin = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: IdentityModeTests.KeysSection("gateway_key", requireVerified: false, scopes: "[admin]")), o => o.AdminToken = Token);
        await using var plain = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: IdentityModeTests.KeysSection("gateway_key", requireVerified: false)), o => o.AdminToken = Token);

        using var allowed = await SendAsync(admin, "GET", "/keeptrusts/config", IdentityModeTests.Key);
        using var refused = await SendAsync(plain, "GET", "/keeptrusts/config", IdentityModeTests.Key);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, string method, string path, string? token, string? body = null, string? contentType = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/x-yaml");
        }
        else if (method == "POST")
        {
            request.Content = new ByteArrayContent([]);
        }

        return await gateway.Http.SendAsync(request, Patience.Token());
    }
}
