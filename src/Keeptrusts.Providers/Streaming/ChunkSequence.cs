namespace Keeptrusts.Providers.Streaming;

/// <summary>Chunks that are already in memory, as the enumerable a streamed response carries.</summary>
internal static class ChunkSequence
{
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> From(IReadOnlyList<ReadOnlyMemory<byte>> chunks, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return chunk;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
