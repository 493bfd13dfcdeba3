using System.Net;
using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Relay;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>Requests sent to the control-plane emulator travel over the gateway's outbound WebSocket to the real gateway and back.</summary>
public sealed class RelayEndToEndTests
{
    [Fact]
    public async Task A_plain_completion_goes_through_the_relay_with_every_policy_applied()
    {
        await using var rig = await RelayRig.StartAsync();

        using var response = await rig.Emulator.ChatAsync("write to jane.doe@example.com");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.com", body, StringComparison.Ordinal);
        var connection = Assert.Single(rig.Emulator.Hub.History);
        Assert.Equal(RelayEmulator.RegistrationId, connection.RegistrationId);
        Assert.False(string.IsNullOrEmpty(connection.InstanceId));
        Assert.False(string.IsNullOrEmpty(connection.GatewayVersion));
    }

    [Fact]
    public async Task Health_shows_the_relay_connected_and_never_the_token()
    {
        await using var rig = await RelayRig.StartAsync();
        await RelayEmulator.WaitUntilAsync(() => rig.Status.State == RelayState.Connected, "connected");

        var text = await rig.Http.GetStringAsync("/health");
        using var health = JsonDocument.Parse(text);
        var relay = health.RootElement.GetProperty("components").GetProperty("relay");

        Assert.Equal("connected", relay.GetProperty("status").GetString());
        Assert.Equal(rig.Emulator.RelayUrl.AbsoluteUri, relay.GetProperty("url").GetString());
        Assert.Equal(JsonValueKind.String, relay.GetProperty("last_connected_at").ValueKind);
        Assert.Equal(0, relay.GetProperty("reconnects").GetInt64());
        Assert.DoesNotContain(RelayEmulator.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayEmulator.Token, rig.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_completion_is_forwarded_event_by_event_and_a_secret_split_across_events_is_redacted()
    {
        await using var rig = await RelayRig.StartAsync();

        using var response = await rig.Emulator.ChatAsync("split-email", stream: true);
        var body = await response.Content.ReadAsStringAsync();
        var content = string.Concat(body.Split('\n')
            .Where(static l => l.StartsWith("data: {", StringComparison.Ordinal))
            .Select(static l => JsonDocument.Parse(l["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Select(static d => d.TryGetProperty("content", out var c) ? c.GetString() : null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(ScriptedUpstream.SplitEmail, content, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", content, StringComparison.Ordinal);
        Assert.EndsWith("today, please.", content, StringComparison.Ordinal);
        Assert.Contains("data: [DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fifty_concurrent_requests_share_one_socket()
    {
        await using var rig = await RelayRig.StartAsync();
        rig.Upstream.Hold();

        var calls = Enumerable.Range(0, 50).Select(i => rig.Emulator.ChatAsync($"request number {i}")).ToArray();
        await RelayEmulator.WaitUntilAsync(() => rig.Upstream.ArrivedCount == 50, "all fifty requests at the upstream at once");
        rig.Upstream.Release();
        var responses = await Task.WhenAll(calls);

        for (var i = 0; i < responses.Length; i++)
        {
            using var response = responses[i];
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains($"You said: request number {i}\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Single(rig.Emulator.Hub.History);
    }

    [Fact]
    public async Task Cancelling_mid_stream_reaches_the_upstream()
    {
        await using var rig = await RelayRig.StartAsync();

        var response = await rig.Emulator.ChatAsync("hang", stream: true);
        var stream = await response.Content.ReadAsStreamAsync();
        using var firstBytes = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.True(await stream.ReadAsync(new byte[256], firstBytes.Token) > 0);
        Assert.False(rig.Upstream.Aborted.Task.IsCompleted);
        response.Dispose();

        await rig.Upstream.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await RelayEmulator.WaitUntilAsync(() => rig.Status.InFlight == 0, "the relayed request to end");
        using var next = await rig.Emulator.ChatAsync("still there?");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Requests_beyond_the_in_flight_limit_are_answered_503()
    {
        await using var rig = await RelayRig.StartAsync(relay: static o => o with { MaxInFlight = 2 });
        rig.Upstream.Hold();

        var first = rig.Emulator.ChatAsync("one");
        var second = rig.Emulator.ChatAsync("two");
        await RelayEmulator.WaitUntilAsync(() => rig.Upstream.ArrivedCount == 2, "two requests in flight");
        using var third = await rig.Emulator.ChatAsync("three");
        var error = await third.Content.ReadAsStringAsync();
        rig.Upstream.Release();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
        Assert.Equal("relay_busy", JsonDocument.Parse(error).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
    }

    [Fact]
    public async Task An_oversize_frame_is_answered_413_and_the_connection_survives()
    {
        await using var rig = await RelayRig.StartAsync(relay: static o => o with { MaxFrameBytes = 64 * 1024 });

        using var big = await rig.Emulator.ChatAsync(new string('x', 100 * 1024));
        var error = await big.Content.ReadAsStringAsync();
        using var next = await rig.Emulator.ChatAsync("small");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal("request_too_large", JsonDocument.Parse(error).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Single(rig.Emulator.Hub.History);
        Assert.Contains("Relay frame of more than 65536 bytes dropped", rig.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_frames_are_logged_and_the_connection_survives()
    {
        await using var rig = await RelayRig.StartAsync();

        await rig.Emulator.SendRawAsync("{not json");
        await rig.Emulator.SendRawAsync("""{"type":"request","id":"bad1","method":"POST","path":"http://elsewhere.example/"}""");
        await rig.Emulator.SendRawAsync("""{"type":"cancel","id":"nobody"}""");
        await RelayEmulator.WaitUntilAsync(() => rig.Log.Split("Relay frame ignored").Length - 1 >= 2, "two malformed frames logged");
        using var next = await rig.Emulator.ChatAsync("still fine?");

        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Single(rig.Emulator.Hub.History);
        Assert.Contains("Relay frame ignored: not a JSON document", rig.Log, StringComparison.Ordinal);
        Assert.Contains("Relay frame ignored: request \"path\"", rig.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("elsewhere.example", rig.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_finishes_relayed_requests_in_flight_refuses_new_ones_and_closes_with_1001()
    {
        await using var rig = await RelayRig.StartAsync();
        rig.Upstream.Hold();
        var inFlight = rig.Emulator.ChatAsync("finish me");
        await RelayEmulator.WaitUntilAsync(() => rig.Upstream.ArrivedCount == 1, "the request at the upstream");

        var stopping = rig.Gateway.StopAsync(CancellationToken.None);
        await RelayEmulator.WaitUntilAsync(() => rig.Log.Contains("Relay draining", StringComparison.Ordinal), "the drain to start");
        using var refused = await rig.Emulator.ChatAsync("too late");
        var refusal = await refused.Content.ReadAsStringAsync();
        rig.Upstream.Release();
        using var finished = await inFlight;
        var answer = await finished.Content.ReadAsStringAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("gateway_shutting_down", JsonDocument.Parse(refusal).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Contains("You said: finish me", answer, StringComparison.Ordinal);
        await RelayEmulator.WaitUntilAsync(() => rig.Emulator.Hub.History[0].ClosedAt is not null, "the emulator to see the close");
        Assert.Equal(1001, rig.Emulator.Hub.History[0].CloseStatus);
    }
}
