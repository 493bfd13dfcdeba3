using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Keeptrusts.Policy.RateLimiting;

namespace Keeptrusts.Policy.Tests.RateLimiting;

/// <summary>
/// A real Valkey/Redis server for the tests: the one <c>.ci/run</c> started (<c>KEEPTRUSTS_TEST_REDIS_URL</c>), or
/// else a <c>redis-server</c> (or <c>valkey-server</c>) started here on a free loopback port and stopped afterwards.
/// With neither, the tests fail with a message saying how to get one: they are never skipped.
/// </summary>
public sealed class ValkeyServer : IAsyncLifetime
{
    public const string UrlVariable = "KEEPTRUSTS_TEST_REDIS_URL";

    private Process? _process;

    public string Url { get; private set; } = string.Empty;

    internal ValkeyEndpoint Endpoint { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url)
        {
            Url = url;
        }
        else
        {
            var binary = FindServer() ?? throw new InvalidOperationException(
                $"These tests need a Valkey or Redis server: install one (apt-get install -y redis-server; .ci/run does this) or set {UrlVariable} to a redis:// URL.");
            var port = FreePort();
            var start = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--daemonize", "no" })
            {
                start.ArgumentList.Add(arg);
            }

            _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
            _process.OutputDataReceived += static (_, _) => { };
            _process.ErrorDataReceived += static (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            Url = $"redis://127.0.0.1:{port}";
        }

        Assert.True(ValkeyEndpoint.TryParse(Url, out var endpoint, out var problem), problem);
        Endpoint = endpoint;
        await WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }
    }

    /// <summary>Runs one command on a fresh connection.</summary>
    internal async Task<RespReply> CommandAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var connection = await ValkeyConnection.OpenAsync(Endpoint, timeout.Token);
        return await connection.ExecuteAsync(RespCodec.Encode(args), timeout.Token);
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                var pong = await CommandAsync("PING");
                if (pong.Text == "PONG")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException && DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow >= deadline || _process is { HasExited: true })
            {
                throw new InvalidOperationException($"the Valkey server at {Endpoint} did not answer PING");
            }

            await Task.Delay(50);
        }
    }

    private static string? FindServer()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var name in new[] { "valkey-server", "redis-server" })
        {
            foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class ValkeyCollection : ICollectionFixture<ValkeyServer>
{
    public const string Name = "valkey";
}
