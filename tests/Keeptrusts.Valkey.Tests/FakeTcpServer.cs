using System.Net;
using System.Net.Sockets;

namespace Keeptrusts.Valkey.Tests;

/// <summary>A loopback TCP server whose every connection runs <c>handler</c>; stopped (and every connection closed) on dispose.</summary>
internal sealed class FakeTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Func<NetworkStream, CancellationToken, Task> _handler;
    private int _connections;

    public FakeTcpServer(Func<NetworkStream, CancellationToken, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections => Volatile.Read(ref _connections);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        var running = new List<Task>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                running.Add(ServeAsync(client));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await _handler(client.GetStream(), _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Pipes one connection to <paramref name="target"/> and back until either side closes.</summary>
    public static async Task ForwardAsync(NetworkStream client, IPEndPoint target, CancellationToken cancellationToken)
    {
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(target, cancellationToken);
        var server = upstream.GetStream();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = client.CopyToAsync(server, done.Token);
        var down = server.CopyToAsync(client, done.Token);
        await Task.WhenAny(up, down);
        await done.CancelAsync();
    }
}
