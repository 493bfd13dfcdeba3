using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>
/// Loads the configuration when the host starts, so an invalid one stops start-up with every finding, and watches
/// the configuration files when asked to.
/// </summary>
internal sealed class GatewayStartup(GatewayRuntime runtime, ILogger<GatewayStartup> logger) : IHostedService, IAsyncDisposable
{
    private ConfigFileWatcher? _watcher;

    internal ConfigFileWatcher? Watcher => _watcher;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the runtime has loaded the configuration already; only watching is left.
        if (runtime.Options.WatchConfigFiles)
        {
            _watcher = new ConfigFileWatcher(runtime, logger);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _watcher, null) is { } watcher)
        {
            await watcher.DisposeAsync().ConfigureAwait(false);
        }
    }
}
