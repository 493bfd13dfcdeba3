using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>
/// The built <c>kt</c> executable running <c>gateway run</c> as a child process: real signals (SIGHUP reload,
/// SIGTERM drain), the startup line, and the exit code. Every child is killed if a test fails.
/// </summary>
public sealed partial class GatewayProcessTests : IAsyncLifetime
{
    private const string SigHup = "HUP";
    private const string SigTerm = "TERM";

    private readonly TempDirectory _dir = new();
    private FakeOpenAIUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeOpenAIUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Sighup_reloads_the_configuration_files()
    {
        var config = WriteConfig("0.1.0");
        await using var kt = KtProcess.Start(_dir.Path, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0", "--no-watch");
        var http = await kt.WaitUntilListeningAsync();
        var before = await GatewayLifecycleTests.RevisionAsync(http);

        WriteConfig("0.2.0");
        kt.Signal(SigHup);
        var after = await GatewayLifecycleTests.PollAsync(() => GatewayLifecycleTests.RevisionAsync(http), revision => revision != before);

        Assert.NotEqual(before, after);
        Assert.Contains("Reloading the configuration files (SIGHUP)", kt.Output, StringComparison.Ordinal);
        Assert.False(kt.HasExited);
    }

    [Fact]
    public async Task Sigterm_drains_the_request_in_flight_and_exits_0()
    {
        var config = WriteConfig("0.1.0");
        await using var kt = KtProcess.Start(_dir.Path, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0");
        var http = await kt.WaitUntilListeningAsync();
        _upstream.Hold();
        var inFlight = http.PostAsync("/v1/chat/completions", new StringContent(GatewayUnderTest.ChatBody("finish me"), Encoding.UTF8, "application/json"));
        Assert.True(await _upstream.Arrived.WaitAsync(GatewayUnderTest.Bound));

        kt.Signal(SigTerm);
        await GatewayLifecycleTests.PollAsync(() => Task.FromResult(kt.Output.Contains("Shutting down", StringComparison.Ordinal)), static seen => seen);
        Assert.False(await GatewayLifecycleTests.ConnectsAsync(http.BaseAddress!.Port));
        _upstream.Release();
        using var response = await inFlight.WaitAsync(GatewayUnderTest.Bound);
        var exitCode = await kt.WaitForExitAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("Stopped", kt.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_with_lint_errors_never_starts_and_exits_1_with_the_findings()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Errors);
        await using var kt = KtProcess.Start(_dir.Path, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0");

        var exitCode = await kt.WaitForExitAsync();

        Assert.Equal(ExitCodes.Findings, exitCode);
        Assert.Contains($"{config}:9:17: error KT2202:", kt.Errors, StringComparison.Ordinal);
        Assert.Contains("kt: error: the gateway did not start", kt.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening on", kt.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_never_reach_the_output()
    {
        var config = WriteConfig("0.1.0");
        await using var kt = KtProcess.Start(_dir.Path, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0", "--api-token", "kt_gw_never_print_me", "--upstream-api-key", "sk-never-print-me");
        await kt.WaitUntilListeningAsync();

        kt.Signal(SigTerm);
        await kt.WaitForExitAsync();

        Assert.DoesNotContain("never_print_me", kt.Output + kt.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("never-print-me", kt.Output + kt.Errors, StringComparison.Ordinal);
        Assert.Contains("api token: set", kt.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_gives_a_configuration_without_targets_one_target()
    {
        var config = _dir.Write("policy-config.yaml", "pack: { name: policies-only, version: 0.1.0 }\npolicies: { chain: [pii-detector] }\npolicy: { pii-detector: { action: redact } }\n");
        await using var kt = KtProcess.Start(_dir.Path, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0", "--upstream", _upstream.BaseUrl.ToString());
        var http = await kt.WaitUntilListeningAsync();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(GatewayUnderTest.ChatBody("mail bob@example.com"), Encoding.UTF8, "application/json"));
        kt.Signal(SigTerm);
        await kt.WaitForExitAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("bob@example.com", Assert.Single(_upstream.Prompts), StringComparison.Ordinal);
        Assert.Contains("targets: upstream (openai)", kt.Output, StringComparison.Ordinal);
        Assert.Contains("--upstream is set", kt.Output, StringComparison.Ordinal);
    }

    private string WriteConfig(string version) =>
        _dir.Write("policy-config.yaml", GatewayUnderTest.QuickstartChain(_upstream.BaseUrl, Path.Combine(_dir.Path, "audit.jsonl"), version));

    private sealed partial class KtProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _out = new();
        private readonly StringBuilder _err = new();
        private HttpClient? _http;

        private KtProcess(Process process) => _process = process;

        public bool HasExited => _process.HasExited;

        public string Output
        {
            get
            {
                lock (_out)
                {
                    return _out.ToString();
                }
            }
        }

        public string Errors
        {
            get
            {
                lock (_err)
                {
                    return _err.ToString();
                }
            }
        }

        public static KtProcess Start(string workingDirectory, params string[] args) => Start(workingDirectory, null, args);

        public static KtProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, string[] args)
        {
            var kt = Path.Combine(AppContext.BaseDirectory, "kt.dll");
            Assert.True(File.Exists(kt), $"kt.dll is not next to the test assembly in {AppContext.BaseDirectory}");
            var start = new ProcessStartInfo(DotnetHost())
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(kt);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            foreach (var name in new[] { "KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "KEEPTRUSTS_UPSTREAM_URL", "KEEPTRUSTS_UPSTREAM_API_KEY" })
            {
                start.Environment.Remove(name);
            }

            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            var process = Process.Start(start)!;
            var kt2 = new KtProcess(process);
            process.OutputDataReceived += (_, e) => Append(kt2._out, e.Data);
            process.ErrorDataReceived += (_, e) => Append(kt2._err, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return kt2;
        }

        public async Task<HttpClient> WaitUntilListeningAsync()
        {
            var match = await GatewayLifecycleTests.PollAsync(() => Task.FromResult(Listening().Match(Output)), m => m.Success || _process.HasExited);
            Assert.True(match.Success, $"kt exited before listening: {Errors}");
            _http = new HttpClient { BaseAddress = new Uri(match.Groups["url"].Value), Timeout = GatewayUnderTest.Bound };
            return _http;
        }

        /// <summary>Sends a signal with the system's <c>kill</c> command, as an operator would.</summary>
        public void Signal(string signal)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
            Assert.True(kill.WaitForExit(10_000));
            Assert.Equal(0, kill.ExitCode);
        }

        public async Task<int> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            _http?.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            _process.Dispose();
        }

        private static void Append(StringBuilder builder, string? line)
        {
            if (line is not null)
            {
                lock (builder)
                {
                    builder.AppendLine(line);
                }
            }
        }

        private static string DotnetHost()
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            {
                return host;
            }

            return Process.GetCurrentProcess().MainModule?.FileName is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }

        [GeneratedRegex(@"Listening on (?<url>http://[^/\s,]+/)")]
        private static partial Regex Listening();

    }
}
