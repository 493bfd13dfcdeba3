using Keeptrusts.AspNetCore.Telemetry;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>
/// Reloads when a configuration file (or the gateway keys file) changes. Changes are debounced: the reload runs once
/// no change has been seen for the debounce time, so an editor's write-rename-delete dance reloads once. Directory
/// watches also catch atomic replacements (Kubernetes ConfigMaps swap a <c>..data</c> symlink).
/// </summary>
internal sealed class ConfigFileWatcher : IAsyncDisposable
{
    private readonly GatewayRuntime _runtime;
    private readonly ILogger _logger;
    private readonly TimeSpan _debounce;
    private readonly Lock _gate = new();
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ITimer _timer;
    private HashSet<string> _files = new(StringComparer.Ordinal);
    private Task _reloading = Task.CompletedTask;
    private bool _disposed;

    public ConfigFileWatcher(GatewayRuntime runtime, ILogger logger)
    {
        _runtime = runtime;
        _logger = logger;
        _debounce = runtime.Options.ReloadDebounce;
        _timer = runtime.Options.TimeProvider.CreateTimer(static state => ((ConfigFileWatcher)state!).OnSettled(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Watch();
    }

    /// <summary>Completes when the reload triggered by the latest change has finished.</summary>
    internal Task Reloading
    {
        get
        {
            lock (_gate)
            {
                return _reloading;
            }
        }
    }

    /// <summary>The files whose changes trigger a reload.</summary>
    private static HashSet<string> FilesOf(GatewayRuntime runtime)
    {
        var files = new HashSet<string>(runtime.Options.ConfigFiles.Select(Path.GetFullPath), StringComparer.Ordinal);
        var config = runtime.Current.Config;
        if (config.RuntimeIdentity.GatewayKeysFile is { Length: > 0 } keys)
        {
            // Relative to the file that set it, as the key loader resolves it.
            var setBy = config.LocationOf("runtime_identity.gateway_keys_file").File;
            var directory = File.Exists(setBy) ? Path.GetDirectoryName(Path.GetFullPath(setBy)) : null;
            files.Add(Path.GetFullPath(Path.IsPathRooted(keys) || directory is null ? keys : Path.Combine(directory, keys)));
        }

        return files;
    }

    private void Watch()
    {
        var files = FilesOf(_runtime);
        lock (_gate)
        {
            if (_disposed || files.SetEquals(_files))
            {
                return;
            }

            foreach (var watcher in _watchers)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
            _files = files;
            foreach (var directory in files.Select(Path.GetDirectoryName).Where(static d => d is not null).Distinct(StringComparer.Ordinal))
            {
                try
                {
                    var watcher = new FileSystemWatcher(directory!)
                    {
                        NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.DirectoryName,
                        IncludeSubdirectories = false,
                    };
                    watcher.Changed += OnChanged;
                    watcher.Created += OnChanged;
                    watcher.Deleted += OnChanged;
                    watcher.Renamed += OnChanged;
                    watcher.EnableRaisingEvents = true;
                    _watchers.Add(watcher);
                }
                catch (Exception ex) when (ex is ArgumentException or IOException or PlatformNotSupportedException or UnauthorizedAccessException)
                {
                    GatewayLog.WatchFailed(_logger, ex.GetType().Name);
                }
            }
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e)
    {
        var relevant = _files.Contains(e.FullPath) || e.Name?.StartsWith("..", StringComparison.Ordinal) == true
            || (e is RenamedEventArgs renamed && _files.Contains(renamed.OldFullPath));
        if (!relevant)
        {
            return;
        }

        lock (_gate)
        {
            if (!_disposed)
            {
                _timer.Change(_debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnSettled()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            GatewayLog.FileChangeDetected(_logger);
            _reloading = ReloadAsync(_reloading);
        }
    }

    private async Task ReloadAsync(Task previous)
    {
        await previous.ConfigureAwait(false);
        try
        {
            await _runtime.ReloadAsync(null, CancellationToken.None).ConfigureAwait(false);
            Watch();
        }
        catch (ObjectDisposedException)
        {
            // Shutting down.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task reloading;
        lock (_gate)
        {
            _disposed = true;
            foreach (var watcher in _watchers)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
            reloading = _reloading;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        await reloading.ConfigureAwait(false);
    }
}
