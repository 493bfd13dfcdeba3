using System.Net;
using System.Text;
using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.GatewayHost.Cli.Doctor;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.GatewayHost.Tests.Gateway;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>
/// The emulator as <c>dotnet run</c> starts it (seeded tokens, no test switches), with the relay URL derived from
/// the API URL exactly as <c>kt gateway run</c> derives it, and <c>kt doctor</c>'s relay check against it.
/// </summary>
public sealed class RelayWithSeededEmulatorTests : IAsyncLifetime
{
    private const string SeedToken = "kt_gw_seeded_relay_token";
    private const string Seed = $$"""
        tokens:
          - token: {{SeedToken}}
            permissions: [events:write]
        """;

    private RunningEmulator _emulator = null!;
    private TempDirectory _dir = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorHost.StartAsync(Seed);
        _dir = new TempDirectory();
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_gateway_configured_from_the_environment_serves_through_the_seeded_emulator()
    {
        var problems = new List<string>();
        var (relay, _, _) = RelaySetup.Resolve(Env(SeedToken, "rt_seeded").GetValueOrDefault, _emulator.BaseAddress, null, problems);
        Assert.Empty(problems);
        Assert.Equal($"ws://127.0.0.1:{_emulator.BaseAddress.Port}/v1/gateway/relay", relay!.Url.AbsoluteUri);
        var config = _dir.Write("policy-config.yaml", """
            pack: { name: relay-seeded, version: 0.1.0 }
            policies:
              chain: [pii-detector]
            policy:
              pii-detector: { action: redact }
            providers:
              targets:
                - id: echo
                  provider: echo
                  model: echo-1
            """);
        using var logs = new LineLoggerProvider(TextWriter.Null, TimeProvider.System);
        var settings = new GatewayRunSettings { Listen = new ListenAddress(IPAddress.Loopback, 0), ConfigFiles = [config], WatchConfigFiles = false, Relay = relay };
        await using var gateway = await GatewayServer.StartAsync(settings, logs, TimeProvider.System, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = _emulator.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await RelayEmulator.WaitUntilAsync(() => gateway.RelayStatus.State == RelayState.Connected, "registration");

        using var response = await http.PostAsync("emulator/relay/rt_seeded", new StringContent("""{"model":"echo-1","messages":[{"role":"user","content":"mail bob@example.com"}]}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        using var seen = JsonDocument.Parse(await http.GetStringAsync("emulator/relay"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("bob@example.com", body, StringComparison.Ordinal);
        Assert.Equal("rt_seeded", seen.RootElement[0].GetProperty("registration_id").GetString());
    }

    [Fact]
    public async Task The_emulator_refuses_a_token_it_does_not_know()
    {
        using var logs = new LineLoggerProvider(TextWriter.Null, TimeProvider.System);
        var problems = new List<string>();
        var (relay, _, _) = RelaySetup.Resolve(Env("kt_unknown_token", "rt_x").GetValueOrDefault, _emulator.BaseAddress, null, problems);
        var config = _dir.Write("policy-config.yaml", "pack: { name: p, version: 0.1.0 }\n");
        var settings = new GatewayRunSettings { Listen = new ListenAddress(IPAddress.Loopback, 0), ConfigFiles = [config], WatchConfigFiles = false, Relay = relay };
        await using var gateway = await GatewayServer.StartAsync(settings, logs, TimeProvider.System, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        await RelayEmulator.WaitUntilAsync(() => gateway.RelayStatus.State == RelayState.AuthFailed, "the refusal");
    }

    [Fact]
    public async Task Doctor_checks_the_relay_token_without_registering()
    {
        var config = _dir.Write("policy-config.yaml", "pack: { name: p, version: 0.1.0 }\n");
        using var http = new HttpClient();
        async Task<DoctorCheck> RelayCheckAsync(Dictionary<string, string> env) =>
            (await new DoctorChecks(env.GetValueOrDefault, TimeSpan.FromSeconds(10), http).RunAsync([config], CancellationToken.None)).Single(static c => c.Name == "relay");

        var ok = await RelayCheckAsync(Env(SeedToken, "rt_doctor"));
        var refused = await RelayCheckAsync(Env("kt_unknown_token", "rt_doctor"));
        var noRegistration = await RelayCheckAsync(new() { ["KEEPTRUSTS_API_URL"] = _emulator.BaseAddress.AbsoluteUri, ["KEEPTRUSTS_API_TOKEN"] = SeedToken });
        var off = await RelayCheckAsync(new(Env(SeedToken, "rt_doctor")) { ["KEEPTRUSTS_RELAY"] = "off" });
        using var seen = JsonDocument.Parse(await http.GetStringAsync(new Uri(_emulator.BaseAddress, "emulator/relay")));

        Assert.Equal(DoctorStatus.Ok, ok.Status);
        Assert.Contains("accepted the token", ok.Detail, StringComparison.Ordinal);
        Assert.Equal(DoctorStatus.Fail, refused.Status);
        Assert.Contains("relay authentication failed (401)", refused.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("kt_unknown_token", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(DoctorStatus.Warn, noRegistration.Status);
        Assert.Equal(DoctorStatus.Ok, off.Status);
        Assert.All(seen.RootElement.EnumerateArray(), static c => Assert.Equal(JsonValueKind.Null, c.GetProperty("registration_id").ValueKind));
    }

    private Dictionary<string, string> Env(string token, string registrationId) => new()
    {
        ["KEEPTRUSTS_API_URL"] = _emulator.BaseAddress.AbsoluteUri,
        ["KEEPTRUSTS_API_TOKEN"] = token,
        ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = registrationId,
    };
}
