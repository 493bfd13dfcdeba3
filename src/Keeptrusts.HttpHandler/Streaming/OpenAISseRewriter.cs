using System.Text.Json;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Streaming;

/// <summary>
/// Guards an OpenAI chat-completions event stream with <see cref="OpenAIStreamGuard"/>: each <c>data:</c> chunk goes
/// through it and only what it releases is written. <c>[DONE]</c> releases the held tail first. A block ends the
/// stream with <c>data: {"error":…}</c> (what OpenAI's own streams send, and what the Python and Node SDKs raise) and
/// then faults the stream with <see cref="KeeptrustsPolicyException"/>, because the .NET SDK ignores error events.
/// </summary>
internal sealed class OpenAISseRewriter(OpenAIStreamGuard guard) : ISseRewriter
{
    private bool _done;

    public Exception? Fault { get; private set; }

    public async ValueTask<SseOutcome> ProcessAsync(SseEvent sseEvent, SseWriter output, CancellationToken cancellationToken)
    {
        if (_done)
        {
            return SseOutcome.End;
        }

        var data = sseEvent.Data;
        if (!sseEvent.HasData)
        {
            output.WriteRaw(sseEvent.Raw.Span);
            return SseOutcome.Continue;
        }

        if (data.Span.SequenceEqual("[DONE]"u8))
        {
            if (await CompleteCoreAsync(output, cancellationToken).ConfigureAwait(false))
            {
                output.WriteRaw(sseEvent.Raw.Span);
            }

            return SseOutcome.End;
        }

        try
        {
            if (IsError(data.Span))
            {
                // The provider's own error: release what is held, then pass it on as it came.
                if (await CompleteCoreAsync(output, cancellationToken).ConfigureAwait(false))
                {
                    output.WriteRaw(sseEvent.Raw.Span);
                }

                return SseOutcome.End;
            }

            var step = await guard.ProcessAsync(data, cancellationToken).ConfigureAwait(false);
            return Write(step, output) ? SseOutcome.Continue : SseOutcome.End;
        }
        catch (JsonException)
        {
            return Unreadable(output);
        }
    }

    public async ValueTask CompleteAsync(SseWriter output, CancellationToken cancellationToken) =>
        await CompleteCoreAsync(output, cancellationToken).ConfigureAwait(false);

    private async ValueTask<bool> CompleteCoreAsync(SseWriter output, CancellationToken cancellationToken)
    {
        if (_done)
        {
            return false;
        }

        _done = true;
        var step = await guard.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return Write(step, output);
    }

    /// <summary>Writes what the guard released; on a block writes the error event and sets the fault. False when blocked.</summary>
    private bool Write(ChunkStep step, SseWriter output)
    {
        foreach (var payload in step.Emit)
        {
            output.WriteData(payload.Span);
        }

        if (step.Blocked is not { } blocked)
        {
            return true;
        }

        _done = true;
        output.WriteData(OpenAIErrors.ForDecision(blocked).Body);
        Fault = new KeeptrustsPolicyException(blocked);
        return false;
    }

    private SseOutcome Unreadable(SseWriter output)
    {
        _done = true;
        const string Message = "The provider's stream sent a chunk that is not JSON; the stream was stopped so that nothing unchecked reaches the caller.";
        output.WriteData(OpenAIErrors.Create(Message, "server_error", "invalid_upstream_stream"));
        Fault = new IOException(Message);
        return SseOutcome.End;
    }

    /// <summary>Whether a payload is an error object: <c>{"error": …}</c> at the top level.</summary>
    private static bool IsError(ReadOnlySpan<byte> data)
    {
        if (data.IndexOf("\"error\""u8) < 0)
        {
            return false;
        }

        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("error"u8))
            {
                return true;
            }

            reader.Read();
            reader.Skip();
        }

        return false;
    }
}
