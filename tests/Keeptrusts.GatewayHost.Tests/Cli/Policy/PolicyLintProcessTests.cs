using System.Diagnostics;
using System.Text.Json;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy;

/// <summary>The built <c>kt</c> executable, run as a real process: the exit code and the streams a CI job sees.</summary>
public sealed class PolicyLintProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Kt_process_lints_a_file_and_exits_1_on_errors()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Errors);

        var (exitCode, stdout, stderr) = await RunKtAsync("policy", "lint", "--file", file, "--format", "json");

        Assert.Equal(ExitCodes.Findings, exitCode);
        Assert.Empty(stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(["KT2002", "KT2101", "KT2202", "KT1102"], json.RootElement.EnumerateArray().Select(static e => e.GetProperty("code").GetString()));
    }

    [Fact]
    public async Task Kt_process_exits_2_with_one_line_and_no_stack_trace_for_a_missing_file()
    {
        var missing = Path.Combine(_dir.Path, "x.yaml");

        var (exitCode, stdout, stderr) = await RunKtAsync("policy", "lint", "--file", missing);

        Assert.Equal(ExitCodes.UsageOrIo, exitCode);
        Assert.Empty(stdout);
        Assert.Equal($"kt: error: file not found: {missing}", stderr.Trim());
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunKtAsync(params string[] args)
    {
        var kt = Path.Combine(AppContext.BaseDirectory, "kt.dll");
        Assert.True(File.Exists(kt), $"kt.dll is not next to the test assembly in {AppContext.BaseDirectory}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = _dir.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(kt);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The dotnet host running these tests, so the child uses the same runtime.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
