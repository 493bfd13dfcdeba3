using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>
/// <c>kt gateway run</c> as a separate process, over a socket, in front of the echo upstream: what a caller in any
/// language gets. One process per configuration; decision records are not visible from outside, so findings are not
/// compared here, and the phase of a refusal is known only for streams.
/// </summary>
internal sealed partial class KtGatewaySurface(EchoUpstream upstream) : ISurface
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kt-conformance-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, (Process Process, HttpClient Http)> _gateways = [];

    public string Name => "kt gateway run";

    public async Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken)
    {
        var http = await GatewayAsync(testCase.Config, cancellationToken);
        upstream.Chunks = chunks ?? [1000];
        return chunks is null
            ? await OpenAISdk.RunAsync(OpenAISdk.Client(http, new Uri(http.BaseAddress!, "v1")), testCase, stream: false, cancellationToken)
            : await RawSse.RunAsync(http, testCase, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, http) in _gateways.Values)
        {
            http.Dispose();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<HttpClient> GatewayAsync(string config, CancellationToken cancellationToken)
    {
        if (_gateways.TryGetValue(config, out var existing))
        {
            return existing.Http;
        }

        Directory.CreateDirectory(_directory);
        var file = Path.Combine(_directory, config + ".yaml");
        await File.WriteAllTextAsync(file, Configs.WithUpstream(config, upstream.BaseUrl), cancellationToken);
        var kt = Path.Combine(AppContext.BaseDirectory, "kt.dll");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { kt, "gateway", "run", "--policy-config", file, "--listen", "127.0.0.1:0", "--no-watch" },
        };
        foreach (var name in new[] { "KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "KEEPTRUSTS_UPSTREAM_URL", "KEEPTRUSTS_UPSTREAM_API_KEY" })
        {
            start.Environment.Remove(name);
        }

        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start)!;
        void Read(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (Listening().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(match.Groups["url"].Value);
            }
        }

        process.OutputDataReceived += Read;
        process.ErrorDataReceived += Read;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync(cancellationToken).ContinueWith(_ => listening.TrySetException(new InvalidOperationException("kt exited before listening:\n" + output)), TaskScheduler.Default);

        string url;
        try
        {
            url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("kt did not start listening within 30 s:\n" + output);
        }

        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        _gateways[config] = (process, http);
        return http;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Process.GetCurrentProcess().MainModule?.FileName is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";

    [GeneratedRegex(@"Listening on (?<url>http://[^/\s,]+/)")]
    private static partial Regex Listening();
}
