using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Keeptrusts.Providers.Tests.FaultMatrix;

/// <summary>
/// A TCP server on 127.0.0.1 (ephemeral port) that reads one HTTP request per connection, writes the bytes a test
/// gives it and then resets the connection (RST, not FIN): what a crashed or killed upstream looks like. It serves a
/// bounded number of connections and stops when disposed.
/// </summary>
internal sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _connections;

    private RawUpstream(string prefix)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUrl = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = ServeAsync(Encoding.UTF8.GetBytes(prefix));
    }

    public string BaseUrl { get; }

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Answers every request with <paramref name="prefix"/> (status line, headers, part of a body), then resets.</summary>
    public static RawUpstream ResetAfter(string prefix) => new(prefix);

    /// <summary>A port on 127.0.0.1 where nothing listens (bound, then released), for connection-refused cases.</summary>
    public static string ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task ServeAsync(byte[] prefix)
    {
        for (var served = 0; served < 16 && !_stop.IsCancellationRequested; served++)
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
            var stream = client.GetStream();
            await ReadRequestAsync(stream, _stop.Token);
            await stream.WriteAsync(prefix, _stop.Token);
            await stream.FlushAsync(_stop.Token);

            // Give the client a moment to read what was sent, then abort with RST.
            await Task.Delay(50, _stop.Token);
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
        }
    }

    /// <summary>Reads headers and a Content-Length body, so the client has finished sending before the answer.</summary>
    private static async Task ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var received = new MemoryStream();
        int headerEnd;
        while ((headerEnd = IndexOf(received.GetBuffer().AsSpan(0, (int)received.Length), "\r\n\r\n"u8)) < 0)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return;
            }

            received.Write(buffer, 0, read);
        }

        var headers = Encoding.ASCII.GetString(received.GetBuffer(), 0, headerEnd);
        var length = headers.Split("\r\n")
            .Select(static line => line.Split(':', 2))
            .Where(static parts => parts.Length == 2 && parts[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(static parts => int.Parse(parts[1].Trim(), System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();
        var body = received.Length - (headerEnd + 4);
        while (body < length)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return;
            }

            body += read;
        }
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}
