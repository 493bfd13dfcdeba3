using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>Reloads and graceful shutdown of the in-process host.</summary>
public sealed class GatewayLifecycleTests
{
    [Fact]
    public async Task A_changed_config_file_is_reloaded_without_a_restart()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(static s => s with { WatchConfigFiles = true });
        var before = await RevisionAsync(gateway.Http);
        var auditPath = Path.Combine(gateway.Directory, "audit", "audit.jsonl");

        await File.WriteAllTextAsync(gateway.ConfigPath, GatewayUnderTest.QuickstartChain(gateway.Upstream.BaseUrl, auditPath, version: "0.2.0"));
        var after = await PollAsync(() => RevisionAsync(gateway.Http), revision => revision != before);

        Assert.Equal("0.2.0", gateway.Server.Runtime.Current.Config.Pack!.Version);
        Assert.Equal(gateway.Server.Runtime.Current.Revision, after);
        await gateway.AssertStillServingAsync();
    }

    [Fact]
    public async Task A_broken_config_file_keeps_the_running_configuration()
    {
        await using var gateway = await GatewayUnderTest.StartAsync();
        var before = gateway.Server.Runtime.Current.Revision;
        await File.WriteAllTextAsync(gateway.ConfigPath, "pack: { name: Bad Name }\npolicies: [");

        var result = await gateway.Server.ReloadAsync(CancellationToken.None).WaitAsync(GatewayUnderTest.Bound);

        Assert.False(result.Success);
        Assert.NotEmpty(result.Diagnostics);
        Assert.Equal(before, gateway.Server.Runtime.Current.Revision);
        Assert.Contains("Reloading the configuration files (SIGHUP)", gateway.Log, StringComparison.Ordinal);
        await gateway.AssertStillServingAsync();
    }

    [Fact]
    public async Task Shutdown_refuses_new_connections_and_lets_the_request_in_flight_finish()
    {
        var gateway = await GatewayUnderTest.StartAsync();
        try
        {
            gateway.Upstream.Hold();
            var inFlight = gateway.ChatAsync("a slow one");
            Assert.True(await gateway.Upstream.Arrived.WaitAsync(GatewayUnderTest.Bound));

            var stopping = gateway.Server.StopAsync(CancellationToken.None);
            await PollAsync(() => ConnectsAsync(gateway.Port), static connects => !connects);
            Assert.False(stopping.IsCompleted);
            gateway.Upstream.Release();
            using var response = await inFlight.WaitAsync(GatewayUnderTest.Bound);
            await stopping.WaitAsync(GatewayUnderTest.Bound);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("You said: a slow one", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Contains("Shutting down", gateway.Log, StringComparison.Ordinal);
            Assert.Contains("Stopped", gateway.Log, StringComparison.Ordinal);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    internal static async Task<string> RevisionAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("revision").GetString()!;
    }

    /// <summary>Polls until <paramref name="done"/> holds, failing the test after a bounded wait.</summary>
    internal static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + GatewayUnderTest.Bound;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"still {value} after {GatewayUnderTest.Bound.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    internal static async Task<bool> ConnectsAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
