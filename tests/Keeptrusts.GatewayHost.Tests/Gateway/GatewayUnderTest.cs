using System.Net;
using System.Net.Sockets;
using System.Text;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Hosting;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>
/// The real standalone host (<see cref="GatewayServer"/>: Kestrel, limits, endpoints) started in-process on
/// 127.0.0.1 with a free port, in front of a <see cref="FakeOpenAIUpstream"/>; logs are captured.
/// </summary>
internal sealed class GatewayUnderTest : IAsyncDisposable
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly StringWriter _log;
    private readonly LineLoggerProvider _logs;

    private GatewayUnderTest(GatewayServer server, FakeOpenAIUpstream upstream, string directory, StringWriter log, LineLoggerProvider logs)
    {
        Server = server;
        Upstream = upstream;
        Directory = directory;
        _log = log;
        _logs = logs;
        Http = new HttpClient { BaseAddress = server.Addresses[0], Timeout = Bound };
    }

    public GatewayServer Server { get; }

    public FakeOpenAIUpstream Upstream { get; }

    public string Directory { get; }

    public HttpClient Http { get; }

    public int Port => Server.Addresses[0].Port;

    public string ConfigPath => Path.Combine(Directory, "policy-config.yaml");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>prompt-injection (block), pii-detector (redact) and audit-logger (under the scratch directory) in front of the fake upstream.</summary>
    public static string QuickstartChain(Uri upstream, string auditPath, string version = "0.1.0") => $$"""
        pack: { name: e2e, version: {{version}} }
        policies:
          chain: [prompt-injection, pii-detector, audit-logger]
        policy:
          prompt-injection: { action: block }
          pii-detector: { action: redact }
          audit-logger: { path: {{auditPath}} }
        providers:
          targets:
            - id: fake
              provider: openai
              model: gpt-test
              base_url: {{upstream.ToString().TrimEnd('/')}}
        """;

    public static async Task<GatewayUnderTest> StartAsync(Func<GatewayRunSettings, GatewayRunSettings>? adjust = null, Func<Uri, string, string>? config = null)
    {
        var upstream = await FakeOpenAIUpstream.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "kt-gateway-e2e-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var auditPath = Path.Combine(directory, "audit", "audit.jsonl");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(auditPath)!);
        var configPath = Path.Combine(directory, "policy-config.yaml");
        await File.WriteAllTextAsync(configPath, config is null ? QuickstartChain(upstream.BaseUrl, auditPath) : config(upstream.BaseUrl, auditPath));
        var settings = new GatewayRunSettings
        {
            Listen = new ListenAddress(IPAddress.Loopback, 0),
            ConfigFiles = [configPath],
            WatchConfigFiles = false,
            ShutdownTimeout = TimeSpan.FromSeconds(20),
        };
        settings = adjust?.Invoke(settings) ?? settings;
        var log = new StringWriter();
        var logs = new LineLoggerProvider(TextWriter.Synchronized(log), TimeProvider.System);
        var server = await GatewayServer.StartAsync(settings, logs, TimeProvider.System, CancellationToken.None).WaitAsync(Bound);
        return new GatewayUnderTest(server, upstream, directory, log, logs);
    }

    public Task<HttpResponseMessage> ChatAsync(string prompt, CancellationToken cancellationToken = default) =>
        Http.PostAsync("/v1/chat/completions", new StringContent(ChatBody(prompt), Encoding.UTF8, "application/json"), cancellationToken);

    public static string ChatBody(string prompt) =>
        "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":" + System.Text.Json.JsonSerializer.Serialize(prompt) + "}]}";

    /// <summary>Sends raw bytes on a fresh connection and returns what the server answered before closing or going quiet.</summary>
    public async Task<string> RawAsync(byte[] request, TimeSpan? quiet = null)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(Bound);
        await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before the whole request is written.
        }

        return await ReadResponseAsync(stream, timeout.Token);
    }

    /// <summary>Reads until the server closes the connection or a complete response head and body have arrived.</summary>
    public static async Task<string> ReadResponseAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cancellationToken);
            }
            catch (IOException)
            {
                break;
            }

            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
            var text = Encoding.UTF8.GetString(received.ToArray());
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0 && ContentLength(text[..headEnd]) is { } length && Encoding.UTF8.GetByteCount(text[(headEnd + 4)..]) >= length)
            {
                break;
            }
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>Whether a normal request still gets a normal answer.</summary>
    public async Task AssertStillServingAsync()
    {
        using var response = await ChatAsync("still there?");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        await Upstream.DisposeAsync();
        _logs.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? null : 0;
    }
}
