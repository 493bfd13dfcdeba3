using System.Collections.Concurrent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.Options;

namespace Keeptrusts.HttpHandler;

/// <summary>The clients that already have the handler, so adding it twice adds it once.</summary>
internal sealed class KeeptrustsHandlerRegistry
{
    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One engine per named client, built on first use from that client's options and shared by all its handlers (handlers
/// are recreated as the client factory rotates them; the engine is not). Engines it built are disposed with the
/// container; an engine handed in through the options or registered in the container belongs to its owner.
/// </summary>
internal sealed class KeeptrustsEngines(IOptionsMonitor<KeeptrustsPolicyOptions> options, IServiceProvider services) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(PolicyEngine Engine, bool Owned)>> _engines = new(StringComparer.Ordinal);

    public PolicyEngine Get(string name) =>
        _engines.GetOrAdd(name, n => new Lazy<(PolicyEngine, bool)>(() => Build(n))).Value.Engine;

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _engines.Values)
        {
            if (entry.IsValueCreated && entry.Value.Owned)
            {
                await entry.Value.Engine.DisposeAsync().ConfigureAwait(false);
            }
        }

        _engines.Clear();
    }

    private (PolicyEngine, bool) Build(string name)
    {
        // Reading the options validates them (KeeptrustsPolicyOptionsValidator): at most one source, or a registered engine.
        var o = options.Get(name);
        if (o.Engine is { } given)
        {
            return (given, false);
        }

        PolicyConfig? config = o.Config;
        if (config is null && (o.ConfigYaml is not null || o.ConfigFiles.Count > 0))
        {
            var result = o.ConfigYaml is not null ? PolicyConfigLoader.Parse(o.ConfigYaml) : PolicyConfigLoader.LoadFiles(o.ConfigFiles.ToArray());
            if (result.Config is null)
            {
                throw new InvalidOperationException(
                    $"The Keeptrusts policy configuration of HTTP client '{name}' does not load:" + Environment.NewLine
                    + string.Join(Environment.NewLine, result.Diagnostics.Select(static d => "  " + d)));
            }

            config = result.Config;
        }

        if (config is null)
        {
            return ((PolicyEngine)services.GetService(typeof(PolicyEngine))!, false);
        }

        var engineOptions = new PolicyEngineOptions { FailMode = o.FailMode };
        foreach (var sink in o.Sinks)
        {
            engineOptions.Sinks.Add(sink);
        }

        return (PolicyEngine.Create(config, engineOptions), true);
    }
}
