using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Relay;
using Keeptrusts.GatewayHost.Tests.Gateway;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>Liveness of the relay socket, and what <c>/health</c> says when there is no relay.</summary>
public sealed class RelayKeepAliveTests
{
    [Fact]
    public async Task A_peer_that_stops_answering_pings_is_treated_as_dead_and_reconnected()
    {
        // A WebSocket peer written by hand: it completes the upgrade, acknowledges the registration, then never reads
        // again, so the gateway's pings go unanswered. Real time, but bounded: the interval is 200 ms.
        await using var peer = new MutePeer();
        await using var rig = await RelayRig.StartAsync(relay: o => o with { Url = new Uri($"ws://127.0.0.1:{peer.Port}/v1/gateway/relay"), KeepAliveInterval = TimeSpan.FromMilliseconds(200) }, waitRegistered: false);

        await RelayEmulator.WaitUntilAsync(() => rig.Status.LastConnectedAt is not null, "registration with the mute peer");
        await RelayEmulator.WaitUntilAsync(() => rig.Status.Reconnects >= 1, "the dead connection to be given up");

        Assert.Contains("Relay connection lost (no answer to keep-alive pings)", rig.Log, StringComparison.Ordinal);
        Assert.True(peer.Accepted >= 1);
    }

    [Fact]
    public async Task Health_says_disabled_and_why_for_a_standalone_gateway()
    {
        await using var gateway = await GatewayUnderTest.StartAsync();

        using var health = JsonDocument.Parse(await gateway.Http.GetStringAsync("/health"));
        var relay = health.RootElement.GetProperty("components").GetProperty("relay");

        Assert.Equal("disabled", relay.GetProperty("status").GetString());
        Assert.Contains("KEEPTRUSTS_API_URL", relay.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(RelayState.Disabled, gateway.Server.RelayStatus.State);
    }

    /// <summary>Accepts WebSocket upgrades on 127.0.0.1, sends <c>registered</c>, and then reads nothing.</summary>
    private sealed class MutePeer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _clients = [];
        private readonly Task _accepting;
        private int _accepted;

        public MutePeer()
        {
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            lock (_clients)
            {
                _clients.ForEach(static c => c.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_clients)
                    {
                        _clients.Add(client);
                    }

                    Interlocked.Increment(ref _accepted);
                    _ = UpgradeAsync(client.GetStream());
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task UpgradeAsync(NetworkStream stream)
        {
            try
            {
                var head = new StringBuilder();
                var buffer = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer, _stop.Token) == 1)
                {
                    head.Append((char)buffer[0]);
                }

                var key = head.ToString().Split("\r\n").First(static l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
                var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), _stop.Token);

                // The register frame is not read: it just sits in the socket buffer. One unmasked text frame answers it.
                var registered = """{"type":"registered","session_id":"mute"}"""u8.ToArray();
                await stream.WriteAsync(new byte[] { 0x81, (byte)registered.Length }, _stop.Token);
                await stream.WriteAsync(registered, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }
}
