using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.SharedState;
using System.Globalization;
using System.Text.Json;
using Keeptrusts.AspNetCore.Http;
using Keeptrusts.AspNetCore.Memory;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.AspNetCore.Telemetry;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Keeptrusts.Policy.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>
/// <c>POST /v1/chat/completions</c>: identity → pins (<c>X-Keeptrusts-Provider</c> / <c>X-Keeptrusts-Model</c>) →
/// input policies → router → output policies → answer, streamed (SSE) or not. Every refusal is OpenAI error JSON; the
/// upstream is never called for a request the input policies block.
/// </summary>
internal sealed class ChatCompletionsEndpoint(GatewayRuntime runtime, GatewayMetrics metrics, ILogger<ChatCompletionsEndpoint> logger, IEnumerable<IHostedTenants> hostedTenants)
{
    private const string Endpoint = "chat_completions";

    private readonly IHostedTenants? _tenants = hostedTenants.FirstOrDefault();

    private readonly TimeProvider _time = runtime.Options.TimeProvider;

    public async Task HandleAsync(HttpContext http)
    {
        var started = _time.GetTimestamp();
        metrics.RequestStarted();
        var requestId = RequestIds.New();
        http.Response.Headers[GatewayHeaders.RequestId] = requestId;
        var outcome = new Outcome();
        using var activity = GatewayActivities.StartRequest(requestId);
        try
        {
            await HandleCoreAsync(http, requestId, outcome).ConfigureAwait(false);
        }
        finally
        {
            metrics.RequestEnded(Endpoint, http.Response.StatusCode, outcome.Name, _time.GetElapsedTime(started));
            GatewayActivities.EndRequest(activity, http.Response.StatusCode, outcome.Name);
        }
    }

    private async Task HandleCoreAsync(HttpContext http, string requestId, Outcome outcome)
    {
        SnapshotLease lease;
        try
        {
            if (_tenants is null)
            {
                lease = runtime.Acquire();
            }
            else
            {
                // Hosted mode: the caller's gateway key chooses the configuration.
                var tenant = await _tenants.AcquireAsync(http, http.RequestAborted).ConfigureAwait(false);
                if (tenant.Lease is not { } tenantLease)
                {
                    outcome.Name = "refused";
                    await OpenAIErrorWriter.WriteAsync(http, tenant.Status, tenant.Message ?? "the gateway key could not be resolved", tenant.Code, retryAfter: tenant.RetryAfter).ConfigureAwait(false);
                    return;
                }

                lease = tenantLease;
            }
        }
        catch (ObjectDisposedException)
        {
            outcome.Name = "unavailable";
            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "the gateway is shutting down", "shutting_down").ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            outcome.Name = "cancelled";
            return;
        }

        using (lease)
        {
            var snapshot = lease.Snapshot;
            http.Response.Headers[GatewayHeaders.Revision] = snapshot.Revision;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, snapshot.Draining);
            try
            {
                await ProcessAsync(http, snapshot, requestId, outcome, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                outcome.Name = "cancelled";
                GatewayLog.CallerGone(logger, requestId);
            }
            catch (OperationCanceledException) when (snapshot.Draining.IsCancellationRequested)
            {
                outcome.Name = "cancelled";
                GatewayLog.DrainCancelled(logger, requestId, snapshot.Revision);
                await FailAsync(http, StatusCodes.Status503ServiceUnavailable, "the gateway configuration was replaced while this request was running; retry it", "reloaded").ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The last line of defence: the caller gets an OpenAI error with a request id, never a stack trace.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                outcome.Name = "error";
                GatewayLog.Unexpected(logger, ex, requestId);
                await FailAsync(http, StatusCodes.Status500InternalServerError, $"the gateway failed to process the request (request id {requestId})", "internal_error").ConfigureAwait(false);
            }
        }
    }

    /// <summary>Answers an error: as a response when nothing was sent yet, else as a final stream event.</summary>
    private static async Task FailAsync(HttpContext http, int status, string message, string code)
    {
        if (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (!http.Response.HasStarted)
        {
            // Clearing drops the headers set so far; the request id is what the caller needs to report the failure.
            var requestId = http.Response.Headers[GatewayHeaders.RequestId];
            http.Response.Clear();
            http.Response.Headers[GatewayHeaders.RequestId] = requestId;
            await OpenAIErrorWriter.WriteAsync(http, status, message, code).ConfigureAwait(false);
            return;
        }

        await StreamResponder.EndWithErrorAsync(http, OpenAIErrors.Create(message, OpenAIErrors.TypeFor(status), code)).ConfigureAwait(false);
    }

    private async Task ProcessAsync(HttpContext http, GatewaySnapshot snapshot, string requestId, Outcome outcome, CancellationToken cancellationToken)
    {
        // 1. Who is calling.
        IdentityResolution resolution;
        using (var identitySpan = GatewayActivities.StartIdentity())
        {
            resolution = await snapshot.Identity.ResolveAsync(IdentityEvidenceReader.Read(http.Request), cancellationToken).ConfigureAwait(false);
            GatewayActivities.EndIdentity(identitySpan, resolution.Status, resolution.Identity?.ProofMethod);
        }

        if (resolution.Identity is not { } identity)
        {
            await RefuseAsync(http, requestId, outcome, resolution.Status, resolution.Failure ?? "the caller could not be identified", IdentityCode(resolution.Status)).ConfigureAwait(false);
            return;
        }

        // 2. How often this caller may ask.
        if (snapshot.RateLimiter is { } limiter && snapshot.Config.DistributedRateLimit is { } limits)
        {
            var subject = limits.Scope switch
            {
                RateLimitScope.Team => identity.Team,
                RateLimitScope.GatewayKey => identity.KeyId,
                _ => identity.UserId,
            };
            var bucket = RequestRateLimiter.BucketKey(snapshot.Config.Pack?.Name ?? "default", limits.Scope, subject);
            var lease = await limiter.AcquireAsync(bucket, cancellationToken).ConfigureAwait(false);
            http.Response.Headers[GatewayHeaders.RateLimitLimit] = limits.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
            http.Response.Headers[GatewayHeaders.RateLimitRemaining] = lease.Remaining.ToString(CultureInfo.InvariantCulture);
            if (!lease.Allowed)
            {
                outcome.Name = "rate_limited";
                GatewayLog.RateLimited(logger, requestId, limits.Scope.ToString());
                http.Response.Headers[GatewayHeaders.RateLimitRemaining] = "0";
                await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status429TooManyRequests, $"rate limit reached: {limits.RequestsPerMinute} requests per minute; retry after the time in Retry-After", "rate_limit_exceeded", retryAfter: lease.RetryAfter).ConfigureAwait(false);
                return;
            }
        }

        // 3. Headers that scope the request.
        if (!TryReadHeader(http.Request, GatewayHeaders.ConversationId, out var conversationId)
            || !TryReadHeader(http.Request, GatewayHeaders.Provider, out var pinnedTarget)
            || !TryReadHeader(http.Request, GatewayHeaders.Model, out var pinnedModel))
        {
            await RefuseAsync(http, requestId, outcome, StatusCodes.Status400BadRequest, $"{GatewayHeaders.ConversationId}, {GatewayHeaders.Provider} and {GatewayHeaders.Model} each take one value of at most {GatewayHeaders.MaxValueLength} printable characters", "invalid_header").ConfigureAwait(false);
            return;
        }

        // 4. The body.
        var (body, refusal) = await RequestBody.ReadJsonAsync(http, runtime.Options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            await RefuseAsync(http, requestId, outcome, refusal.Status, refusal.Message, refusal.Code).ConfigureAwait(false);
            return;
        }

        using (body)
        {
            var context = identity.ApplyTo(new RequestContext { ConversationId = conversationId, RequestId = requestId, InstanceId = runtime.Options.InstanceId, ConfigRevision = snapshot.Revision });

            // 4b. A repeat of a request seen within the window, by any instance sharing the store.
            var duplicate = false;
            if (snapshot.Config.Deduplication is { } dedup && RequestFingerprint.Compute(identity.KeyId + "|" + identity.UserId, body.Memory.Span) is { } fingerprint)
            {
                duplicate = !await runtime.Fingerprints.TryRecordAsync(fingerprint, TimeSpan.FromSeconds(dedup.WindowSeconds), cancellationToken).ConfigureAwait(false);
                if (duplicate)
                {
                    GatewayLog.Duplicate(logger, requestId, dedup.WindowSeconds);
                    context = context with { Duplicate = true };
                }
            }

            // 5. Where it may go, decided before policies so that model-allowlist sees a pinned target.
            RoutePlan? plan = null;
            var readable = ChatRequestProbe.TryRead(body.Memory.Span, out var model, out var stream);
            if (readable)
            {
                plan = snapshot.Router.Plan(model, pinnedTarget, pinnedModel, snapshot.AllowsTarget);
                if (plan.Error is { } planError)
                {
                    await RefuseAsync(http, requestId, outcome, StatusCodes.Status400BadRequest, planError, plan.ErrorCode ?? "invalid_route", PlanParam(plan.ErrorCode, pinnedModel)).ConfigureAwait(false);
                    return;
                }

                context = context with { TargetId = plan.TargetId };
            }

            // 5b. Memory: what this conversation (and caller) said before, recalled in parallel per scope.
            var requestBody = body.Memory;
            IReadOnlyList<string> memoryScopes = [];
            if (snapshot.Memory is { } memory)
            {
                memoryScopes = memory.ScopesOf(conversationId, CallerOf(identity));
                var (recalled, failed) = await memory.RecallAsync(memoryScopes, cancellationToken).ConfigureAwait(false);
                if (failed && !memory.Config.FailOpen)
                {
                    await RefuseAsync(http, requestId, outcome, StatusCodes.Status503ServiceUnavailable, "conversation memory is unavailable; retry later", "memory_unavailable").ConfigureAwait(false);
                    return;
                }

                if (MemoryMessages.Inject(body.Memory.Span, recalled) is { } withMemory)
                {
                    requestBody = withMemory;
                }
            }

            var exchange = snapshot.Engine.BeginExchange(context);
            await using (exchange.ConfigureAwait(false))
            {
                // 6. Input policies. An unreadable body is refused here too, with a decision record.
                var input = await exchange.EvaluateRequestAsync(requestBody, cancellationToken).ConfigureAwait(false);
                if (input.IsBlocked)
                {
                    await BlockAsync(http, outcome, input.Record).ConfigureAwait(false);
                    return;
                }

                // The input record, marked duplicate, has gone to the sinks; the request goes no further.
                if (duplicate && snapshot.Config.Deduplication is { Action: DuplicateAction.Reject } rejecting)
                {
                    await RefuseAsync(http, requestId, outcome, StatusCodes.Status409Conflict, $"the same request was already received within the last {rejecting.WindowSeconds} s", "duplicate_request").ConfigureAwait(false);
                    return;
                }

                if (plan is null)
                {
                    await RefuseAsync(http, requestId, outcome, StatusCodes.Status400BadRequest, "the request body is not a valid chat completion request", "invalid_body").ConfigureAwait(false);
                    return;
                }

                // 7. The upstream.
                var upstreamBody = input.Body;
                var stripUsage = false;
                if (stream)
                {
                    upstreamBody = OpenAIStreamGuard.RequestUsage(upstreamBody, out stripUsage);
                }

                var result = await snapshot.Router.SendAsync(plan, upstreamBody, stream, cancellationToken).ConfigureAwait(false);
                await using (result.ConfigureAwait(false))
                {
                    if (result.TargetId is { } target)
                    {
                        http.Response.Headers[GatewayHeaders.Target] = target;
                        exchange.SetTarget(target);
                    }

                    var response = result.Response;
                    if (!response.IsSuccess)
                    {
                        outcome.Name = "upstream_error";
                        GatewayLog.UpstreamError(logger, requestId, result.TargetId, response.StatusCode);
                        var errorBody = response.Body.IsEmpty
                            ? OpenAIErrors.Create("the provider answered with an error and no details", OpenAIErrors.TypeFor(response.StatusCode), "upstream_error")
                            : response.Body;
                        await OpenAIErrorWriter.WriteBodyAsync(http, response.StatusCode, errorBody, response.RetryAfter).ConfigureAwait(false);
                        return;
                    }

                    // 8. Output policies and the answer.
                    if (stream)
                    {
                        if (response.Chunks is not { } chunks)
                        {
                            outcome.Name = "upstream_error";
                            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status502BadGateway, "the provider did not stream its answer", "upstream_invalid_response").ConfigureAwait(false);
                            return;
                        }

                        using (var streamSpan = GatewayActivities.StartStream(result.TargetId))
                        {
                            var answer = snapshot.Memory is not null && memoryScopes.Count > 0 ? new System.Text.StringBuilder() : null;
                            outcome.Name = await StreamResponder.StreamAsync(http, exchange, chunks, stripUsage, result.TargetId, requestId, logger, cancellationToken, answer).ConfigureAwait(false);
                            GatewayActivities.EndStream(streamSpan, outcome.Name);
                            if (outcome.Name == "ok")
                            {
                                await RememberAsync(snapshot, memoryScopes, input.Body, answer?.ToString()).ConfigureAwait(false);
                            }
                        }

                        return;
                    }

                    var output = await exchange.EvaluateResponseAsync(response.Body, cancellationToken).ConfigureAwait(false);
                    if (output.IsBlocked)
                    {
                        if (output.Record.BlockedBy is null)
                        {
                            // Not a policy: the provider's answer could not be read.
                            outcome.Name = "upstream_error";
                            await OpenAIErrorWriter.WriteAsync(http, StatusCodes.Status502BadGateway, "the provider's answer is not a valid chat completion", "upstream_invalid_response").ConfigureAwait(false);
                            return;
                        }

                        await BlockAsync(http, outcome, output.Record).ConfigureAwait(false);
                        return;
                    }

                    // Remembered before answering, so the caller's next turn (on any instance) recalls this one.
                    await RememberAsync(snapshot, memoryScopes, input.Body, MemoryMessages.AnswerText(output.Body.Span)).ConfigureAwait(false);
                    http.Response.StatusCode = StatusCodes.Status200OK;
                    http.Response.ContentType = "application/json";
                    http.Response.ContentLength = output.Body.Length;
                    await http.Response.Body.WriteAsync(output.Body, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static string? CallerOf(CallerIdentity identity) => identity.KeyId is { } key ? "key:" + key : identity.UserId is { } user ? "user:" + user : null;

    /// <summary>Remembers the exchange as the upstream and the caller saw it (after redaction); never fails the request.</summary>
    private ValueTask RememberAsync(GatewaySnapshot snapshot, IReadOnlyList<string> scopes, ReadOnlyMemory<byte> request, string? answered)
    {
        if (snapshot.Memory is not { } memory || scopes.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var now = _time.GetUtcNow();
        var entries = new List<MemoryEntry>(2);
        if (MemoryMessages.LastUserText(request.Span) is { Length: > 0 } asked)
        {
            entries.Add(new MemoryEntry("user", asked, now));
        }

        if (answered is { Length: > 0 })
        {
            entries.Add(new MemoryEntry("assistant", answered, now));
        }

        // The caller already has its answer; remembering must not be cut short by it hanging up.
        return memory.RememberAsync(scopes, entries, CancellationToken.None);
    }

    private Task RefuseAsync(HttpContext http, string requestId, Outcome outcome, int status, string message, string code, string? param = null)
    {
        outcome.Name = status == StatusCodes.Status401Unauthorized ? "unauthenticated" : "refused";
        GatewayLog.Refused(logger, requestId, status, code);
        return OpenAIErrorWriter.WriteAsync(http, status, message, code, param);
    }

    private Task BlockAsync(HttpContext http, Outcome outcome, DecisionRecord record)
    {
        outcome.Name = "blocked";
        var (status, errorBody) = OpenAIErrors.ForDecision(record);
        GatewayLog.Blocked(logger, record.RequestId, record.BlockedBy, record.Phase == PolicyPhase.Input ? "input" : "output", status);
        return OpenAIErrorWriter.WriteBodyAsync(http, status, errorBody);
    }

    private static string IdentityCode(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "invalid_identity",
        StatusCodes.Status503ServiceUnavailable => "identity_unavailable",
        _ => "invalid_identity_hint",
    };

    private static string? PlanParam(string? code, string? pinnedModel) => code switch
    {
        "unknown_target" or "target_not_allowed" => GatewayHeaders.Provider,
        "model_not_served" => pinnedModel is null ? "model" : GatewayHeaders.Model,
        "model_required" => "model",
        _ => null,
    };

    /// <summary>Reads an optional single-valued header; false when it is repeated, too long or has control characters.</summary>
    private static bool TryReadHeader(HttpRequest request, string name, out string? value)
    {
        value = null;
        var values = request.Headers[name];
        if (values.Count == 0)
        {
            return true;
        }

        if (values.Count > 1 || values[0] is not { } text)
        {
            return false;
        }

        text = text.Trim();
        if (text.Length > GatewayHeaders.MaxValueLength || text.Any(char.IsControl))
        {
            return false;
        }

        value = text.Length == 0 ? null : text;
        return true;
    }

    /// <summary>How the request ended, for the request counter.</summary>
    private sealed class Outcome
    {
        public string Name { get; set; } = "ok";
    }
}
