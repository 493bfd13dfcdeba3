using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Keeptrusts.GatewayHost.Tests.Doctor;

/// <summary>Just enough of a Valkey server for the doctor: answers AUTH with OK and PING with PONG, and records each command.</summary>
internal sealed class RespPongServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private readonly List<string> _commands = [];

    public RespPongServer()
    {
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                using var reader = new StreamReader(client.GetStream(), Encoding.UTF8, leaveOpen: true);
                var stream = client.GetStream();
                while (await reader.ReadLineAsync(_stop.Token) is { } header && header.StartsWith('*'))
                {
                    var count = int.Parse(header.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                    var args = new List<string>();
                    for (var i = 0; i < count; i++)
                    {
                        await reader.ReadLineAsync(_stop.Token);
                        args.Add(await reader.ReadLineAsync(_stop.Token) ?? string.Empty);
                    }

                    lock (_commands)
                    {
                        _commands.Add(string.Join(' ', args));
                    }

                    var reply = args[0] == "PING" ? "+PONG\r\n" : "+OK\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(reply), _stop.Token);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }
    }
}
