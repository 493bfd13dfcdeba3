using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Keeptrusts.Valkey.Tests;

/// <summary>
/// A real Valkey/Redis server for the tests: the one <c>.ci/run</c> started (<c>KEEPTRUSTS_TEST_REDIS_URL</c>), or
/// else a <c>redis-server</c> (or <c>valkey-server</c>) started here on a free loopback port and stopped afterwards.
/// With neither, the tests fail with a message saying how to get one: they are never skipped.
/// </summary>
public sealed class ValkeyServer : IAsyncLifetime
{
    public const string UrlVariable = "KEEPTRUSTS_TEST_REDIS_URL";

    private Process? _process;
    private ConnectionMultiplexer? _admin;

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
            var port = FreePort();
            _process = StartServer(port);
            Url = $"redis://127.0.0.1:{port}";
        }

        Assert.True(ValkeyEndpoint.TryParse(Url, out var endpoint, out var problem), problem);
        Endpoint = endpoint;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                var configuration = endpoint.ToConfiguration(new ValkeyOptions { ConnectTimeout = TimeSpan.FromSeconds(5), CommandTimeout = TimeSpan.FromSeconds(10) });
                configuration.AbortOnConnectFail = true;
                _admin = await ConnectionMultiplexer.ConnectAsync(configuration);
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && _process is not { HasExited: true })
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_admin is { } admin)
        {
            await admin.DisposeAsync();
        }

        await StopAsync(_process);
    }

    /// <summary>Runs one command on the fixture's own connection.</summary>
    internal Task<RedisResult> CommandAsync(string command, params object[] args) => _admin!.GetDatabase(Endpoint.Database).ExecuteAsync(command, args);

    /// <summary>Starts a server of its own on <paramref name="port"/>, for tests that stop and restart one.</summary>
    internal static Process StartServer(int port)
    {
        var binary = FindServer() ?? throw new InvalidOperationException(
            $"These tests need a Valkey or Redis server: install one (apt-get install -y redis-server; .ci/run does this) or set {UrlVariable} to a redis:// URL.");
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

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static async Task StopAsync(Process? process)
    {
        if (process is null)
        {
            return;
        }

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

    private static readonly System.Collections.Concurrent.ConcurrentBag<Socket> Reserved = [];

    /// <summary>A loopback port that refuses connections for the rest of the run (bound, never listening, so never reused).</summary>
    internal static int ClosedPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Reserved.Add(socket);
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
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
