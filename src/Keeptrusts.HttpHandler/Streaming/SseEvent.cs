namespace Keeptrusts.HttpHandler.Streaming;

/// <summary>One server-sent event as it came: its raw bytes (terminating blank line included), its type and its data.</summary>
internal readonly struct SseEvent
{
    public SseEvent(ReadOnlyMemory<byte> raw, string? type, ReadOnlyMemory<byte> data, bool hasData)
    {
        Raw = raw;
        Type = type;
        Data = data;
        HasData = hasData;
    }

    /// <summary>The event exactly as received; valid only until the next event is read.</summary>
    public ReadOnlyMemory<byte> Raw { get; }

    /// <summary>The <c>event:</c> field, or null.</summary>
    public string? Type { get; }

    /// <summary>The <c>data:</c> lines joined with line feeds; valid only until the next event is read.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Whether the event had any <c>data:</c> line (comments and keep-alives have none).</summary>
    public bool HasData { get; }
}

/// <summary>What a rewriter decided about the stream after an event.</summary>
internal enum SseOutcome
{
    /// <summary>Keep reading.</summary>
    Continue,

    /// <summary>The stream is over: stop reading the upstream.</summary>
    End,
}

/// <summary>
/// Rewrites a stream of server-sent events one event at a time, writing what the caller may see. Implementations hold
/// the policy state of one response; one instance per stream.
/// </summary>
internal interface ISseRewriter
{
    /// <summary>Takes one upstream event.</summary>
    ValueTask<SseOutcome> ProcessAsync(SseEvent sseEvent, SseWriter output, CancellationToken cancellationToken);

    /// <summary>The upstream ended (without the event that ends the stream, or after it): release what is held.</summary>
    ValueTask CompleteAsync(SseWriter output, CancellationToken cancellationToken);

    /// <summary>Set once the stream ended in a way the caller must see as an error after the last bytes are read.</summary>
    Exception? Fault { get; }
}
