using System.Net;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.Relay;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>The relay of a real <c>kt gateway run</c> process, configured only through its environment, stopped with SIGTERM.</summary>
public sealed partial class GatewayProcessTests
{
    [Fact]
    public async Task Sigterm_drains_a_relayed_request_then_closes_the_relay_with_1001()
    {
        await using var emulator = await RelayEmulator.StartAsync();
        var config = WriteConfig("0.1.0");
        var environment = new Dictionary<string, string>
        {
            ["KEEPTRUSTS_RELAY_URL"] = emulator.RelayUrl.AbsoluteUri,
            ["KEEPTRUSTS_API_TOKEN"] = RelayEmulator.Token,
            ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = RelayEmulator.RegistrationId,
        };
        await using var kt = KtProcess.Start(_dir.Path, environment, ["gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0"]);
        await kt.WaitUntilListeningAsync();
        await emulator.WaitRegisteredAsync();
        _upstream.Hold();
        var inFlight = emulator.ChatAsync("finish me through the relay");
        Assert.True(await _upstream.Arrived.WaitAsync(GatewayUnderTest.Bound));

        kt.Signal(SigTerm);
        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(kt.Output.Contains("Relay draining", StringComparison.Ordinal)), static seen => seen);
        _upstream.Release();
        using var response = await inFlight.WaitAsync(GatewayUnderTest.Bound);
        var answer = await response.Content.ReadAsStringAsync();
        var exitCode = await kt.WaitForExitAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("finish me through the relay", answer, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Equal(1001, Assert.Single(emulator.Hub.History).CloseStatus);
        Assert.Contains("relay: ws://127.0.0.1:", kt.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayEmulator.Token, kt.Output + kt.Errors, StringComparison.Ordinal);
    }
}
