using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Keeptrusts.HttpHandler.Tests.TestSupport;

/// <summary>
/// A provider on a real socket (127.0.0.1, ephemeral port) that answers one request with an event stream written in
/// parts: it writes each part, then waits until the test lets it write the next. Bounded by a timeout; stops itself.
/// </summary>
internal sealed class SocketProvider : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(20));
    private readonly SemaphoreSlim _next = new(0);
    private readonly Task _serve;

    public SocketProvider(IReadOnlyList<string> parts)
    {
        _listener.Start();
        _serve = ServeAsync(parts);
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>The request body the provider received.</summary>
    public TaskCompletionSource<string> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationToken Timeout => _timeout.Token;

    /// <summary>Lets the provider write its next part.</summary>
    public void Continue() => _next.Release();

    public async ValueTask DisposeAsync()
    {
        await _timeout.CancelAsync();
        _listener.Stop();
        try
        {
            await _serve;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }

        _timeout.Dispose();
        _next.Dispose();
    }

    private async Task ServeAsync(IReadOnlyList<string> parts)
    {
        using var socket = await _listener.AcceptTcpClientAsync(_timeout.Token);
        await using var stream = socket.GetStream();
        var head = new StringBuilder();
        var buffer = new byte[8192];
        var received = new MemoryStream();
        int headerEnd;
        while ((headerEnd = head.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
        {
            var n = await stream.ReadAsync(buffer, _timeout.Token);
            if (n == 0)
            {
                return;
            }

            received.Write(buffer, 0, n);
            head.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        var headers = head.ToString()[..headerEnd];
        var length = int.Parse(headers.Split("\r\n").First(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var all = received.ToArray();
        var body = new MemoryStream();
        body.Write(all, headerEnd + 4, all.Length - headerEnd - 4);
        while (body.Length < length)
        {
            var n = await stream.ReadAsync(buffer, _timeout.Token);
            if (n == 0)
            {
                break;
            }

            body.Write(buffer, 0, n);
        }

        Received.TrySetResult(Encoding.UTF8.GetString(body.ToArray()));
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"u8.ToArray(), _timeout.Token);
        for (var i = 0; i < parts.Count; i++)
        {
            if (i > 0)
            {
                await _next.WaitAsync(_timeout.Token);
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(parts[i]), _timeout.Token);
            await stream.FlushAsync(_timeout.Token);
        }
    }
}
