using System.Net;
using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator.Relay;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.Testing;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>Reconnects, auth failures and timeouts, on a manual clock: the relay waits only on its <see cref="TimeProvider"/>.</summary>
public sealed class RelayTimingTests
{
    [Fact]
    public async Task A_drop_reconnects_after_1_s_then_2_s_and_back_to_1_s_after_a_stable_minute()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time);
        var first = await rig.WaitConnectedAsync();

        rig.Emulator.Hub.DropAll();
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(TimeSpan.FromSeconds(1), rig.Status.NextRetry);
        Assert.Equal(RelayState.Connecting, rig.Status.State);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var second = await rig.WaitConnectedAsync(notSession: first.SessionId);

        rig.Emulator.Hub.DropAll();
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(2));
        var third = await rig.WaitConnectedAsync(notSession: second.SessionId);

        time.Advance(TimeSpan.FromSeconds(60));
        rig.Emulator.Hub.DropAll();
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        await rig.WaitConnectedAsync(notSession: third.SessionId);

        Assert.Equal(3, rig.Status.Reconnects);
        using var health = JsonDocument.Parse(await rig.Http.GetStringAsync("/health"));
        Assert.Equal(3, health.RootElement.GetProperty("components").GetProperty("relay").GetProperty("reconnects").GetInt64());
        using var response = await rig.Emulator.ChatAsync("after three drops");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_refused_token_is_logged_once_per_change_of_state_and_never_shown()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time, beforeGateway: static e => e.Hub.AuthMode = RelayAuthMode.Refuse, waitRegistered: false);

        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));
        Assert.Equal(RelayState.AuthFailed, rig.Status.State);
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(2));
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(4));
        using (var health = JsonDocument.Parse(await rig.Http.GetStringAsync("/health")))
        {
            Assert.Equal("auth_failed", health.RootElement.GetProperty("components").GetProperty("relay").GetProperty("status").GetString());
        }

        rig.Emulator.Hub.AuthMode = RelayAuthMode.Accept;
        time.Advance(TimeSpan.FromSeconds(4));
        await rig.Emulator.WaitRegisteredAsync();

        Assert.Single(rig.Log.Split('\n'), static l => l.Contains("Relay authentication failed", StringComparison.Ordinal));
        Assert.Contains("the upgrade was answered 401", rig.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayEmulator.Token, rig.Log, StringComparison.Ordinal);
        await RelayEmulator.WaitUntilAsync(() => rig.Status.State == RelayState.Connected, "connected again");
    }

    [Fact]
    public async Task Close_code_4401_is_an_authentication_failure()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time, beforeGateway: static e => e.Hub.AuthMode = RelayAuthMode.CloseWith4401, waitRegistered: false);

        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));

        Assert.Equal(RelayState.AuthFailed, rig.Status.State);
        Assert.Contains("Relay authentication failed (closed by the control plane (4401))", rig.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_revoked_while_connected_is_an_authentication_failure_logged_once()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time);

        rig.Emulator.Hub.AuthMode = RelayAuthMode.Refuse;
        Assert.Equal(1, await rig.Emulator.Hub.RevokeAllAsync(CancellationToken.None));
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));
        Assert.Equal(RelayState.AuthFailed, rig.Status.State);
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(2));

        Assert.Equal(RelayState.AuthFailed, rig.Status.State);
        Assert.Single(rig.Log.Split('\n'), static l => l.Contains("Relay authentication failed", StringComparison.Ordinal));
        Assert.Contains("Relay authentication failed (closed by the control plane (4401))", rig.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registration_not_acknowledged_within_10_s_is_retried()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time, beforeGateway: static e => e.Hub.AcknowledgeRegistrations = false, waitRegistered: false);
        await RelayEmulator.WaitUntilAsync(() => rig.Emulator.Hub.History.Any(static c => c.RegistrationId is not null), "the register frame");

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Null(rig.Status.NextRetry);
        rig.Emulator.Hub.AcknowledgeRegistrations = true;
        time.Advance(TimeSpan.FromSeconds(0.1));
        await WaitRetryAsync(rig, TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        await rig.Emulator.WaitRegisteredAsync();

        Assert.Contains("Relay registration not acknowledged within 10 s", rig.Log, StringComparison.Ordinal);
        Assert.Equal(RelayEmulator.RegistrationId, rig.Emulator.Hub.History[0].RegistrationId);
        Assert.Null(rig.Emulator.Hub.History[0].SessionId);
    }

    [Fact]
    public async Task A_request_whose_answer_does_not_start_in_time_is_answered_504()
    {
        var time = new ManualTime();
        await using var rig = await RelayRig.StartAsync(time, relay: static o => o with { RequestTimeout = TimeSpan.FromSeconds(5) });
        rig.Upstream.Hold();

        var call = rig.Emulator.ChatAsync("slow");
        await RelayEmulator.WaitUntilAsync(() => rig.Upstream.ArrivedCount == 1, "the request at the upstream");
        time.Advance(TimeSpan.FromSeconds(5));
        using var response = await call;
        var error = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("gateway_timeout", JsonDocument.Parse(error).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    private static Task WaitRetryAsync(RelayRig rig, TimeSpan delay) =>
        RelayEmulator.WaitUntilAsync(() => rig.Status.NextRetry == delay, $"a reconnect planned in {delay.TotalSeconds} s");
}
