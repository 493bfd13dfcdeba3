using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>Loads the configuration for <c>kt gateway run</c>; a configuration with any error never starts a gateway.</summary>
internal static class GatewayRunner
{
    public static async Task<int> RunAsync(GatewayRunSettings settings, KtConsole console, CancellationToken cancellationToken)
    {
        var config = await LoadAsync(settings, console).ConfigureAwait(false);
        if (config.ExitCode is { } failed)
        {
            return failed;
        }

        await console.Error.WriteLineAsync("kt: error: the gateway host is not available in this build").ConfigureAwait(false);
        return ExitCodes.UsageOrIo;
    }

    /// <summary>
    /// Loads and lints the files. Unreadable files are a usage problem (exit 2, one line each); lint errors are
    /// printed as <c>kt policy lint</c> prints them, on standard error, and stop the start (exit 1). Warnings are
    /// printed and the start goes on.
    /// </summary>
    internal static async Task<(PolicyConfig? Config, int? ExitCode)> LoadAsync(GatewayRunSettings settings, KtConsole console)
    {
        var loaded = PolicyConfigLoader.LoadFiles(settings.ConfigFiles);
        var unreadable = loaded.Diagnostics.Where(static d => d.Code is DiagnosticCodes.FileNotFound or DiagnosticCodes.FileUnreadable).ToList();
        if (unreadable.Count > 0)
        {
            foreach (var problem in unreadable)
            {
                var what = problem.Code == DiagnosticCodes.FileNotFound ? (Directory.Exists(problem.Location.File) ? "not a file (it is a directory)" : "file not found") : problem.Message;
                await console.Error.WriteLineAsync(KtCommand.OneLine($"kt: error: {what}: {problem.Location.File}")).ConfigureAwait(false);
            }

            return (null, ExitCodes.UsageOrIo);
        }

        if (loaded.Diagnostics.Count > 0)
        {
            new TextLintWriter().Write(new LintReport(loaded.Diagnostics, settings.ConfigFiles, console.WorkingDirectory), console.Error);
        }

        if (loaded.Config is null)
        {
            await console.Error.WriteLineAsync("kt: error: the gateway did not start: fix the errors above (kt policy lint reports the same)").ConfigureAwait(false);
            return (null, ExitCodes.Findings);
        }

        return (loaded.Config, null);
    }
}
