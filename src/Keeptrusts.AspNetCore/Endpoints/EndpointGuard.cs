using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>
/// The last line of defence of the endpoints other than chat completions (which has its own): a failure becomes an
/// OpenAI error with a request id, never a stack trace, whatever exception pages the app has.
/// </summary>
internal static class EndpointGuard
{
    public static async Task RunAsync(HttpContext http, ILogger logger, Func<HttpContext, Task> endpoint)
    {
        try
        {
            await endpoint(http).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
        catch (ObjectDisposedException) when (!http.Response.HasStarted)
        {
            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "the gateway is shutting down", "shutting_down").ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Every failure is answered in the caller's error shape and logged with its request id.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var requestId = RequestIds.New();
            GatewayLog.Unexpected(logger, ex, requestId);
            if (http.Response.HasStarted)
            {
                http.Abort();
                return;
            }

            http.Response.Clear();
            http.Response.Headers[GatewayHeaders.RequestId] = requestId;
            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status500InternalServerError, $"the gateway failed to process the request (request id {requestId})", "internal_error").ConfigureAwait(false);
        }
    }
}
