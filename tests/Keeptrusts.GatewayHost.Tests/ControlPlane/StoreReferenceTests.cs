using System.Net.Http.Headers;
using Keeptrusts.AspNetCore;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.GatewayHost.Tests.Gateway;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.ControlPlane;

/// <summary><c>secret_key_ref.store</c> resolved through the emulator's <c>POST /v1/config-variables/resolve</c>.</summary>
public sealed class StoreReferenceTests
{
    private const string Token = "kt_gw_store_token";
    private const string Secret = "sk-from-the-store-0123456789";

    private static string Seed(params string[] permissions) => $$"""
        tokens:
          - token: {{Token}}
            permissions: [{{string.Join(", ", permissions)}}]
        config_variables:
          OPENAI_API_KEY: {{Secret}}
        """;

    private static string StoreConfig(Uri upstream, string name = "OPENAI_API_KEY") => $$"""
        pack: { name: store-e2e, version: 0.1.0 }
        policies:
          chain: [pii-detector]
        providers:
          targets:
            - id: primary
              provider: openai
              model: gpt-test
              base_url: {{upstream.ToString().TrimEnd('/')}}
              secret_key_ref: { store: {{name}} }
        """;

    [Fact]
    public async Task A_store_reference_is_resolved_at_start_and_sent_upstream_but_never_shown()
    {
        await using var api = await EmulatorHost.StartAsync(Seed("config_vars:resolve", "events:write"));
        await using var gateway = await GatewayUnderTest.StartAsync(s => WithApi(s, api), (upstream, _) => StoreConfig(upstream));

        using var response = await gateway.ChatAsync("hello");

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var sent = Assert.Single(gateway.Upstream.Requests, static r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.Equal("Bearer " + Secret, sent.Headers.Authorization.ToString());
        Assert.Equal(1, api.Store.VariableResolutions);
        using var config = new HttpRequestMessage(HttpMethod.Get, "/keeptrusts/config");
        config.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var shown = await gateway.Http.SendAsync(config);
        var text = await shown.Content.ReadAsStringAsync();
        Assert.True(shown.IsSuccessStatusCode, text);
        Assert.Contains("OPENAI_API_KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, gateway.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_reload_resolves_again_and_the_new_value_is_used()
    {
        await using var api = await EmulatorHost.StartAsync(Seed("config_vars:resolve"));
        await using var gateway = await GatewayUnderTest.StartAsync(s => WithApi(s, api), (upstream, _) => StoreConfig(upstream));
        api.Store.SetVariable("OPENAI_API_KEY", "sk-rotated-value");

        var reload = await gateway.Server.ReloadAsync(CancellationToken.None);
        using var response = await gateway.ChatAsync("hello");

        Assert.True(reload.Success);
        Assert.Equal(2, api.Store.VariableResolutions);
        var sent = gateway.Upstream.Requests.Last(static r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.Equal("Bearer sk-rotated-value", sent.Headers.Authorization.ToString());
    }

    [Fact]
    public async Task A_missing_variable_stops_the_start_naming_the_target_and_the_variable()
    {
        await using var api = await EmulatorHost.StartAsync(Seed("config_vars:resolve"));

        var ex = await Assert.ThrowsAsync<KeeptrustsGatewayConfigurationException>(() =>
            GatewayUnderTest.StartAsync(s => WithApi(s, api), (upstream, _) => StoreConfig(upstream, "NOT_THERE")));

        var finding = Assert.Single(ex.Diagnostics);
        Assert.Equal("KT2601", finding.Code);
        Assert.Contains("target 'primary'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("'NOT_THERE'", finding.Message, StringComparison.Ordinal);
        Assert.Equal("providers.targets[0].secret_key_ref.store", finding.Path);
    }

    [Fact]
    public async Task Kt_gateway_run_refused_by_the_control_plane_fails_with_one_line_naming_the_permission()
    {
        await using var api = await EmulatorHost.StartAsync(Seed("events:write"));
        await using var upstream = await FakeOpenAIUpstream.StartAsync();
        using var dir = new TempDirectory();
        var config = dir.Write("policy-config.yaml", StoreConfig(upstream.BaseUrl));

        var run = await KtWithEnvironment.RunAsync(
            dir.Path,
            new Dictionary<string, string> { ["KEEPTRUSTS_API_URL"] = api.BaseAddress.ToString(), ["KEEPTRUSTS_GATEWAY_TOKEN"] = Token },
            "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0", "--data-dir", Path.Combine(dir.Path, "data"));

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines, static l => l.Contains("KT2601", StringComparison.Ordinal));
        Assert.Contains("config_vars:resolve", line, StringComparison.Ordinal);
        Assert.Contains("HTTP 403", line, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, run.Out + run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_control_plane_that_keeps_failing_stops_the_start_within_the_deadline()
    {
        await using var api = await EmulatorHost.StartAsync(Seed("config_vars:resolve"));
        api.Faults.Set(FaultMode.Unavailable, "/v1/config-variables");

        var ex = await Assert.ThrowsAsync<KeeptrustsGatewayConfigurationException>(() =>
            GatewayUnderTest.StartAsync(s => WithApi(s, api), (upstream, _) => StoreConfig(upstream)));

        Assert.Contains("HTTP 503", Assert.Single(ex.Diagnostics).Message, StringComparison.Ordinal);
        Assert.Equal(3, api.Faults.Faulted);
    }

    private static Keeptrusts.GatewayHost.Cli.Gateway.GatewayRunSettings WithApi(Keeptrusts.GatewayHost.Cli.Gateway.GatewayRunSettings settings, RunningEmulator api) => settings with
    {
        ApiUrl = api.BaseAddress,
        ApiToken = Token,
        DataDirectory = Path.Combine(Path.GetTempPath(), "kt-store-" + Guid.NewGuid().ToString("N")),
    };
}
