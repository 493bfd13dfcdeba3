namespace Keeptrusts.Conformance.Surfaces;

/// <summary>One way of enforcing a configuration: the core engine, the handler, the decorator, a gateway.</summary>
public interface ISurface : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Runs a case; <paramref name="chunks"/> null asks for a plain answer, otherwise a stream cut so.</summary>
    Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken);
}
