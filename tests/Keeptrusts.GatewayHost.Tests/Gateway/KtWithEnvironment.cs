using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>Runs <c>kt</c> in-process with its own environment variables instead of the test process's.</summary>
internal static class KtWithEnvironment
{
    public static async Task<KtRun> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = Console(output, error, workingDirectory, environment);
        var exitCode = await Task.Run(() => KtCommand.RunAsync(args, console)).WaitAsync(Kt.HangLimit);
        return new KtRun(exitCode, output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal), error.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    public static KtConsole Console(TextWriter output, TextWriter error, string workingDirectory, IReadOnlyDictionary<string, string> environment) =>
        new(output, error, workingDirectory)
        {
            // PATH passes through so command lookups behave as on the machine; nothing else does.
            GetEnvironmentVariable = name => environment.TryGetValue(name, out var value) ? value : name == "PATH" ? Environment.GetEnvironmentVariable("PATH") : null,
        };
}
