using Keeptrusts.AspNetCore;
using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>
/// <c>kt gateway run</c> from settings to exit code: lint first (a configuration with any error never starts a
/// gateway), start, log the startup line, serve until a termination signal or cancellation, then stop gracefully.
/// </summary>
internal static class GatewayRunner
{
    public static async Task<int> RunAsync(GatewayRunSettings settings, KtConsole console, CancellationToken cancellationToken)
    {
        PolicyConfig? config = null;
        if (!settings.Hosted)
        {
            (config, var exitCode) = await LoadAsync(settings, console).ConfigureAwait(false);
            if (exitCode is { } failed)
            {
                return failed;
            }
        }
        else if (settings.Upstream is not null)
        {
            await console.Error.WriteLineAsync("kt: error: --upstream cannot be used in hosted mode: each tenant's configuration names its own providers").ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }

        using var upstreamLayer = config is null ? null : UpstreamLayer.For(settings, config);
        settings = upstreamLayer?.Apply(settings) ?? settings;
        using var logs = new LineLoggerProvider(console.Out, TimeProvider.System);
        var logger = logs.CreateLogger(typeof(GatewayRunner).FullName!);
        if (settings.Upstream is { } upstream)
        {
            GatewayLog.UpstreamOverride(logger, upstream.GetLeftPart(UriPartial.Path));
        }

        GatewayLog.Settings(logger, settings.ToString());
        GatewayServer server;
        try
        {
            server = await GatewayServer.StartAsync(settings, logs, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (KeeptrustsGatewayConfigurationException ex)
        {
            // The files changed between the lint above and the start.
            new TextLintWriter().Write(new LintReport(ex.Diagnostics, settings.ConfigFiles, console.WorkingDirectory), console.Error);
            await console.Error.WriteLineAsync("kt: error: the gateway did not start: fix the errors above (kt policy lint reports the same)").ConfigureAwait(false);
            return ExitCodes.Findings;
        }
        catch (Exception ex) when (ex is IOException or AddressInUseException)
        {
            var reason = ex is AddressInUseException || ex.InnerException is AddressInUseException
                ? "the address is already in use (another gateway?); choose another with --listen"
                : ex.Message;
            await console.Error.WriteLineAsync(KtCommand.OneLine($"kt: error: cannot listen on {settings.Listen}: {reason}")).ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }

        await using (server.ConfigureAwait(false))
        {
            var current = server.Runtime.Current;
            GatewayLog.Listening(
                logger,
                string.Join(", ", server.Addresses),
                current.Revision,
                current.Config.Pack?.Name ?? config!.Pack?.Name ?? "-",
                current.Config.Pack?.Version ?? "-",
                string.Join(", ", current.Config.Providers.Targets.Select(static t => $"{t.Id} ({t.Provider})")));

            using var signals = console.OwnsProcess ? new ProcessSignals(() => _ = ReloadQuietlyAsync(server)) : null;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, signals?.Shutdown ?? CancellationToken.None);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            var abort = signals?.Abort ?? CancellationToken.None;
            using var onAbort = abort.Register(() => GatewayLog.Aborting(logger));
            await server.StopAsync(abort).ConfigureAwait(false);
        }

        return ExitCodes.Success;
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

    private static async Task ReloadQuietlyAsync(GatewayServer server)
    {
        try
        {
            await server.ReloadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // A SIGHUP that arrives while stopping has nothing left to reload.
        }
    }

    /// <summary>
    /// With <c>--upstream</c> and a configuration that declares no targets, one more layer adds the target
    /// <c>upstream</c> (OpenAI-compatible, at the override URL), so policies-only configurations work with the
    /// override. The layer is a file in a private temporary directory, removed when the gateway stops.
    /// </summary>
    private sealed class UpstreamLayer : IDisposable
    {
        private readonly string _directory;

        private UpstreamLayer(string directory, string file)
        {
            _directory = directory;
            File = file;
        }

        public string File { get; }

        public static UpstreamLayer? For(GatewayRunSettings settings, PolicyConfig config)
        {
            if (settings.Upstream is not { } upstream || config.Providers.Targets.Count > 0)
            {
                return null;
            }

            var directory = Directory.CreateTempSubdirectory("kt-upstream-").FullName;
            var file = Path.Combine(directory, "upstream-override.yaml");
            System.IO.File.WriteAllText(file, $"providers:\n  targets:\n    - id: upstream\n      provider: openai\n      base_url: \"{upstream.AbsoluteUri.TrimEnd('/')}\"\n");
            return new UpstreamLayer(directory, file);
        }

        public GatewayRunSettings Apply(GatewayRunSettings settings) => settings with { ConfigFiles = [.. settings.ConfigFiles, File] };

        public void Dispose()
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
