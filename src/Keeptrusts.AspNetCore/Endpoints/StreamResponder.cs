using System.IO.Pipelines;
using System.Text.Json;
using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Telemetry;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>
/// Streams an upstream answer to the caller through the output policies. Each payload the guard lets through is
/// written and flushed at once (response buffering is off); a normal end is <c>data: [DONE]</c>. A block or a broken
/// upstream ends the stream with an error event instead, without <c>[DONE]</c>, and then aborts the connection: SDKs
/// that read error events raise the error, and those that ignore them (the OpenAI .NET client) see the stream fail
/// rather than end as if complete.
/// </summary>
internal static class StreamResponder
{
    /// <summary>How long an error event has to reach the caller before the connection is aborted.</summary>
    internal static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(1);

    // answer: when not null, collects the answer's text as the caller got it (for conversation memory).
    public static async Task<string> StreamAsync(HttpContext http, PolicyExchange exchange, IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, bool stripUsage, string? target, string requestId, ILogger logger, CancellationToken cancellationToken, System.Text.StringBuilder? answer = null)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken).ConfigureAwait(false);

        var guard = new OpenAIStreamGuard(exchange, stripUsage);
        var writer = response.BodyWriter;
        try
        {
            await foreach (var chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                ChunkStep step;
                try
                {
                    step = await guard.ProcessAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException)
                {
                    GatewayLog.StreamBroken(logger, requestId, target, "invalid_chunk");
                    await EndWithErrorAsync(http, OpenAIErrors.Create("the provider sent a stream event that is not a valid chat completion chunk", "server_error", "upstream_invalid_response")).ConfigureAwait(false);
                    return "upstream_error";
                }

                if (step.Blocked is { } blocked)
                {
                    GatewayLog.Blocked(logger, requestId, blocked.BlockedBy, "output", OpenAIErrors.ForDecision(blocked).Status);
                    await EndWithErrorAsync(http, OpenAIErrors.ForDecision(blocked).Body).ConfigureAwait(false);
                    return "blocked";
                }

                if (step.Emit.Count > 0 && !await WriteAsync(writer, step.Emit, cancellationToken).ConfigureAwait(false))
                {
                    return "cancelled";
                }

                Collect(step.Emit, answer);
            }

            var last = await guard.CompleteAsync(cancellationToken).ConfigureAwait(false);
            if (last.Blocked is { } lastBlocked)
            {
                GatewayLog.Blocked(logger, requestId, lastBlocked.BlockedBy, "output", OpenAIErrors.ForDecision(lastBlocked).Status);
                await EndWithErrorAsync(http, OpenAIErrors.ForDecision(lastBlocked).Body).ConfigureAwait(false);
                return "blocked";
            }

            foreach (var payload in last.Emit)
            {
                SseWriter.WriteData(writer, payload.Span);
            }

            Collect(last.Emit, answer);

            SseWriter.WriteDone(writer);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return "ok";
        }
        catch (ProviderException ex) when (!cancellationToken.IsCancellationRequested)
        {
            GatewayLog.StreamBroken(logger, requestId, target, ex.Kind.ToString());
            await EndWithErrorAsync(http, OpenAIErrors.Create("the provider's stream broke before the answer was complete", "server_error", "upstream_stream_error")).ConfigureAwait(false);
            return "upstream_error";
        }
    }

    private static void Collect(IReadOnlyList<ReadOnlyMemory<byte>> payloads, System.Text.StringBuilder? answer)
    {
        if (answer is null)
        {
            return;
        }

        foreach (var payload in payloads)
        {
            Memory.MemoryMessages.AppendDeltaText(payload.Span, answer);
        }
    }

    /// <summary>Ends a started stream with an OpenAI error event and no <c>[DONE]</c>, then closes the connection.</summary>
    public static async Task EndWithErrorAsync(HttpContext http, ReadOnlyMemory<byte> errorJson)
    {
        if (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var writer = http.Response.BodyWriter;
        SseWriter.WriteError(writer, errorJson.Span);
        await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        await AbortAfterSentAsync(http).ConfigureAwait(false);
    }

    private static async Task<bool> WriteAsync(PipeWriter writer, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken)
    {
        foreach (var payload in payloads)
        {
            SseWriter.WriteData(writer, payload.Span);
        }

        var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return !flushed.IsCompleted && !flushed.IsCanceled;
    }

    private static async Task AbortAfterSentAsync(HttpContext http)
    {
        // A flush hands the event to the transport, not yet to the network, and an abort discards what the transport
        // has not sent. So the connection is aborted only after the caller closed it (SDKs that read error events do,
        // at once) or after a short grace on the real clock, which is about sockets, not about business time.
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            await Task.Delay(AbortGrace, TimeProvider.System, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        http.Abort();
    }
}
