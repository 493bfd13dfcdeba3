using System.Text.Json;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.Gateway;
using Keeptrusts.GatewayHost.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.GatewayHost.Tests.Doctor;

/// <summary><c>kt doctor</c> against fake upstreams and control planes on 127.0.0.1, and against ports nobody answers.</summary>
[Collection(Keeptrusts.Valkey.Tests.ValkeyCollection.Name)]
public sealed class DoctorCommandTests(Keeptrusts.Valkey.Tests.ValkeyServer valkey) : IDisposable
{
    private const string EchoOnly = """
        pack: { name: doctor, version: 0.1.0 }
        policies: { chain: [pii-detector] }
        providers:
          targets:
            - id: echo
              provider: echo
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_healthy_local_setup_passes_every_check_and_exits_0()
    {
        var config = _dir.Write("policy-config.yaml", EchoOnly);

        var run = await DoctorAsync([], "--policy-config", config);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("doctor: 6 ok, 0 warn, 0 fail", run.OutLines[^1]);
        Assert.StartsWith("ok    config", run.OutLines[0], StringComparison.Ordinal);
        Assert.Contains(run.OutLines, static l => l.StartsWith("ok", StringComparison.Ordinal) && l.Contains("upstream[echo]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Policy_config_yaml_in_the_working_directory_is_checked_by_default()
    {
        _dir.Write("policy-config.yaml", EchoOnly);

        var run = await DoctorAsync([]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
    }

    [Fact]
    public async Task No_configuration_fails()
    {
        var run = await DoctorAsync([]);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.StartsWith("fail  config", run.OutLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lint_errors_fail_the_config_and_chain_checks()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Errors);

        var json = await DoctorJsonAsync([], "--policy-config", config);

        Assert.Equal("fail", json.GetProperty("status").GetString());
        var config0 = Check(json, "config");
        Assert.Equal("fail", config0.GetProperty("status").GetString());
        Assert.Contains($"{config}:2:9: error KT2002", config0.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("KT2101", Check(json, "policy-chain").GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reachable_upstream_is_probed_without_credentials_and_without_a_billed_call()
    {
        await using var upstream = await FakeHttpServer.StartAsync(static context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        });
        var config = _dir.Write("policy-config.yaml", OpenAiTarget(upstream.BaseUrl.ToString().TrimEnd('/')));

        var run = await DoctorAsync(new() { ["DOCTOR_TEST_KEY"] = "sk-doctor-secret" }, "--policy-config", config);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var (method, path, headers) = Assert.Single(upstream.Requests);
        Assert.Equal(("GET", "/v1/models"), (method, path));
        Assert.False(headers.ContainsKey("Authorization"));
        Assert.Contains(run.OutLines, static l => l.StartsWith("ok", StringComparison.Ordinal) && l.Contains("upstream[primary]", StringComparison.Ordinal) && l.Contains("answered 401", StringComparison.Ordinal));
        Assert.Contains(run.OutLines, static l => l.StartsWith("ok", StringComparison.Ordinal) && l.Contains("credentials[primary]  DOCTOR_TEST_KEY is set", StringComparison.Ordinal));
        Assert.DoesNotContain("sk-doctor-secret", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_base_url_ending_in_v1_is_not_probed_at_v1_v1()
    {
        await using var upstream = await FakeHttpServer.StartAsync(static _ => Task.CompletedTask);
        var config = _dir.Write("policy-config.yaml", OpenAiTarget(upstream.BaseUrl + "v1"));

        await DoctorAsync(new() { ["DOCTOR_TEST_KEY"] = "x" }, "--policy-config", config);

        Assert.Equal("/v1/models", Assert.Single(upstream.Requests).Path);
    }

    [Fact]
    public async Task A_missing_credential_and_an_unreachable_upstream_fail()
    {
        var config = _dir.Write("policy-config.yaml", OpenAiTarget($"http://127.0.0.1:{Ports.Unused()}"));

        var json = await DoctorJsonAsync([], "--policy-config", config);

        Assert.Equal("fail", json.GetProperty("status").GetString());
        var credentials = Check(json, "credentials");
        Assert.Equal("fail", credentials.GetProperty("status").GetString());
        Assert.Equal("DOCTOR_TEST_KEY is not set (secret_key_ref.env)", credentials.GetProperty("detail").GetString());
        var upstream = Check(json, "upstream");
        Assert.Equal("primary", upstream.GetProperty("target").GetString());
        Assert.Equal("fail", upstream.GetProperty("status").GetString());
        Assert.Contains("connection refused", upstream.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_never_answers_fails_within_the_timeout()
    {
        await using var silent = new SilentServer();
        var config = _dir.Write("policy-config.yaml", OpenAiTarget($"http://127.0.0.1:{silent.Port}"));

        var json = await DoctorJsonAsync(new() { ["DOCTOR_TEST_KEY"] = "x" }, "--policy-config", config, "--timeout", "0.5");

        var upstream = Check(json, "upstream");
        Assert.Equal("fail", upstream.GetProperty("status").GetString());
        Assert.Contains("did not answer within 0.5 s", upstream.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_control_plane_is_checked_when_its_url_is_set()
    {
        await using var api = await FakeHttpServer.StartAsync(static context => context.Response.WriteAsync("{\"status\":\"ok\"}"));
        var config = _dir.Write("policy-config.yaml", EchoOnly);

        var withToken = await DoctorJsonAsync(new() { ["KEEPTRUSTS_API_URL"] = api.BaseUrl.ToString(), ["KEEPTRUSTS_GATEWAY_TOKEN"] = "kt_gw_x" }, "-c", config);
        var withoutToken = await DoctorJsonAsync(new() { ["KEEPTRUSTS_API_URL"] = api.BaseUrl.ToString() }, "-c", config);
        var unreachable = await DoctorJsonAsync(new() { ["KEEPTRUSTS_API_URL"] = $"http://127.0.0.1:{Ports.Unused()}" }, "-c", config);

        Assert.Equal("ok", Check(withToken, "control-plane").GetProperty("status").GetString());
        Assert.All(api.Requests, static r => Assert.Contains(r.Path, new[] { "/health", "/v1/events" }));
        Assert.Contains(api.Requests, static r => r is ("POST", "/v1/events", _));
        Assert.Equal("ok", Check(withToken, "event-pipeline").GetProperty("status").GetString());
        Assert.Equal("warn", Check(withoutToken, "control-plane").GetProperty("status").GetString());
        Assert.Equal("fail", Check(withoutToken, "event-pipeline").GetProperty("status").GetString());
        Assert.Equal("fail", withoutToken.GetProperty("status").GetString());
        Assert.Equal("fail", Check(unreachable, "control-plane").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_store_reference_fails_when_the_control_plane_cannot_resolve_it()
    {
        var config = _dir.Write("policy-config.yaml", """
            pack: { name: doctor, version: 0.1.0 }
            providers:
              targets:
                - id: primary
                  provider: openai
                  base_url: http://127.0.0.1:9
                  secret_key_ref: { store: OPENAI_API_KEY }
            """);

        var json = await DoctorJsonAsync(new() { ["KEEPTRUSTS_API_URL"] = $"http://127.0.0.1:{Ports.Unused()}", ["KEEPTRUSTS_GATEWAY_TOKEN"] = "kt_gw_x" }, "-c", config);
        var run = await KtWithEnvironment.RunAsync(_dir.Path, new Dictionary<string, string>(), "gateway", "run", "-c", config, "--listen", "127.0.0.1:0");

        var credentials = Check(json, "credentials");
        Assert.Equal("fail", credentials.GetProperty("status").GetString());
        Assert.Contains("connection refused", credentials.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Contains("secret_key_ref.store", run.Error, StringComparison.Ordinal);
        Assert.Contains("KEEPTRUSTS_API_URL is not set", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Local_targets_are_checked_on_disk_and_on_path()
    {
        var canned = _dir.Write("answers.jsonl", "{}\n");
        var config = _dir.Write("policy-config.yaml", $$"""
            pack: { name: doctor, version: 0.1.0 }
            providers:
              targets:
                - id: canned
                  provider: file://{{canned}}
                - id: missing
                  provider: file://{{Path.Combine(_dir.Path, "missing.jsonl")}}
                - id: shell
                  provider: "exec:sh -c 'cat'"
                - id: nowhere
                  provider: exec:kt-no-such-runner
            """);

        var json = await DoctorJsonAsync([], "-c", config);

        Assert.Equal(
            [("canned", "ok"), ("missing", "fail"), ("shell", "ok"), ("nowhere", "fail")],
            json.GetProperty("checks").EnumerateArray().Where(static c => c.GetProperty("name").GetString() == "upstream")
                .Select(static c => (c.GetProperty("target").GetString(), c.GetProperty("status").GetString())));
    }

    [Fact]
    public async Task The_rate_limit_store_is_pinged_and_an_outage_is_only_a_warning()
    {
        var user = "kt-doctor-" + Guid.NewGuid().ToString("N")[..8];
        await valkey.CommandAsync("ACL", "SETUSER", user, "on", ">pw-secret", "~*", "+@all");
        var config = _dir.Write("policy-config.yaml", EchoOnly + "\ndistributed_rate_limit: { backend: valkey, url_env: DOCTOR_REDIS_URL }\n");

        var up = await DoctorJsonAsync(new() { ["DOCTOR_REDIS_URL"] = $"redis://{user}:pw-secret@{valkey.Endpoint.Host}:{valkey.Endpoint.Port}" }, "-c", config);
        var down = await DoctorJsonAsync(new() { ["DOCTOR_REDIS_URL"] = $"redis://127.0.0.1:{Ports.Unused()}" }, "-c", config);
        var unset = await DoctorJsonAsync([], "-c", config);
        await valkey.CommandAsync("ACL", "DELUSER", user);

        Assert.Equal("ok", Check(up, "rate-limit").GetProperty("status").GetString());
        Assert.Contains("answers PING", Check(up, "rate-limit").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pw-secret", up.ToString(), StringComparison.Ordinal);
        Assert.Equal("warn", Check(down, "rate-limit").GetProperty("status").GetString());
        Assert.Contains("fail open", Check(down, "rate-limit").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("warn", Check(unset, "rate-limit").GetProperty("status").GetString());
        Assert.Equal("warn", down.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_bad_timeout_is_a_usage_error()
    {
        var run = await DoctorAsync([], "--timeout", "0");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains("--timeout must be more than 0", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    private static string OpenAiTarget(string baseUrl) => $$"""
        pack: { name: doctor, version: 0.1.0 }
        providers:
          targets:
            - id: primary
              provider: openai
              model: gpt-4o
              base_url: {{baseUrl}}
              secret_key_ref: { env: DOCTOR_TEST_KEY }
        """;

    private Task<KtRun> DoctorAsync(Dictionary<string, string> environment, params string[] args) =>
        KtWithEnvironment.RunAsync(_dir.Path, environment, ["doctor", .. args]);

    private async Task<JsonElement> DoctorJsonAsync(Dictionary<string, string> environment, params string[] args)
    {
        var run = await DoctorAsync(environment, [.. args, "--format", "json"]);
        Assert.Equal(run.Out.Contains("\"status\": \"fail\"", StringComparison.Ordinal) ? ExitCodes.Findings : ExitCodes.Success, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        return document.RootElement.Clone();
    }

    private static JsonElement Check(JsonElement report, string name) =>
        report.GetProperty("checks").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);
}
