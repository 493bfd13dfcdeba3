using System.Buffers;
using System.Text;
using Keeptrusts.Policy.Configuration;
using Polly;
using Polly.CircuitBreaker;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Routes OpenAI chat-completions requests over the configured provider targets: chooses the order by strategy, sends
/// through each target's circuit breaker, falls back on the configured triggers with jittered backoff under one
/// overall deadline, bounds concurrency adaptively, and keeps per-target health and metrics. Thread-safe and
/// immutable in configuration: a new configuration is a new router. Dispose it to stop health probes.
/// </summary>
/// <remarks>The full behaviour, with configuration examples, is described in <c>docs/routing.md</c>.</remarks>
public sealed partial class ProviderRouter : IAsyncDisposable
{
    /// <summary>Candidates the selection step orders on the stack; larger plans rent an array.</summary>
    private const int StackCandidates = 32;

    private const int NotImplemented = 501;

    /// <summary>Marks a candidate this request will not retry (its Retry-After was longer than the router waits).</summary>
    private const long Excluded = long.MaxValue;

    private static readonly Func<ResilienceContext, AttemptScope, ValueTask<Outcome<AttemptScope>>> RunAttempt =
        static (_, scope) => scope.RunAsync();

    private readonly TargetRuntime[] _targets;
    private readonly RoutePlanner _planner;
    private readonly ConcurrencyGate _gate;
    private readonly FallbackConfig _fallback;
    private readonly RoutingStrategy _strategy;
    private readonly TimeProvider _time;
    private readonly RouterInstruments _instruments;
    private readonly HealthProber? _prober;
    private readonly bool[] _triggers = new bool[3];
    private readonly TargetBreakerState[] _reportedBreaker;
    private readonly Action<TargetRuntime> _onReleased;
    private readonly Action<AttemptScope> _onStreamError;
    private long _random;
    private long _roundRobin = -1;
    private int _disposed;

    private ProviderRouter(ProvidersConfig config, IProviderClient[] clients, ProviderRouterOptions options)
    {
        _time = options.TimeProvider;
        _fallback = config.Fallback;
        _strategy = config.Routing.Strategy;
        foreach (var trigger in config.Fallback.Triggers)
        {
            _triggers[(int)trigger] = true;
        }

        var activeProbes = config.HealthCheck.Enabled && options.EnableHealthChecks;
        _targets = new TargetRuntime[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            _targets[i] = new TargetRuntime(i, config.Targets[i], clients[i], config, activeProbes, _time);
        }

        _reportedBreaker = new TargetBreakerState[_targets.Length];
        _planner = new RoutePlanner(_targets, _strategy);
        _gate = new ConcurrencyGate(options.MaxConcurrency, options.MaxQueueLength ?? 4 * options.MaxConcurrency);
        _instruments = new RouterInstruments(options.MeterFactory);
        _gate.LimitChanged += limit => _instruments.ConcurrencyLimit.Record(limit);
        _random = options.RandomSeed ?? Random.Shared.NextInt64();
        _onReleased = target => _instruments.InFlight.Add(-1, Tag(target));
        _onStreamError = OnStreamError;
        if (activeProbes && _targets.Length > 0)
        {
            _prober = new HealthProber(_targets, config.HealthCheck, _time, ReportHealth);
        }
    }

    /// <summary>Every (model, target) pair the targets declare, for <c>GET /v1/models</c>. Targets that declare no model serve any and are not listed.</summary>
    public IReadOnlyList<RoutableModel> Models => _planner.Models;

    /// <summary>Creates a router and a client per target.</summary>
    /// <param name="config">The <c>providers</c> section, as loaded (linted) from a configuration.</param>
    /// <param name="factory">Creates the client of each target. The router owns the clients: it disposes those that are disposable.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <returns>The router.</returns>
    /// <exception cref="ProviderConfigurationException">A target cannot be served as configured.</exception>
    /// <exception cref="ArgumentException">Target ids repeat, or an option is out of range.</exception>
    public static ProviderRouter Create(ProvidersConfig config, IProviderClientFactory factory, ProviderRouterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(factory);
        options ??= new ProviderRouterOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options) + "." + nameof(options.TimeProvider));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrency, 1, nameof(options) + "." + nameof(options.MaxConcurrency));
        if (options.MaxQueueLength is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxQueueLength, "MaxQueueLength must be 0 or more.");
        }

        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var target in config.Targets)
        {
            if (!ids.Add(target.Id))
            {
                throw new ArgumentException($"Target id '{target.Id}' appears more than once (ids are compared case-insensitively).", nameof(config));
            }
        }

        var clients = new IProviderClient[config.Targets.Count];
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i] = factory.Create(config.Targets[i]);
            }
        }
        catch
        {
            foreach (var client in clients)
            {
                (client as IDisposable)?.Dispose();
            }

            throw;
        }

        return new ProviderRouter(config, clients, options);
    }

    /// <summary>
    /// Plans a request before policies run. Pins come from <c>X-Keeptrusts-Provider</c> (<paramref name="pinnedTarget"/>)
    /// and <c>X-Keeptrusts-Model</c> (<paramref name="pinnedModel"/>). An invalid plan carries an error that names the
    /// allowed targets or models; answer it with 400. Pinning never widens what <paramref name="allowTarget"/> allows.
    /// </summary>
    /// <param name="requestedModel">The request body's <c>model</c>, if any.</param>
    /// <param name="pinnedTarget">The target the caller pinned, if any (ids are case-insensitive).</param>
    /// <param name="pinnedModel">The model the caller pinned, if any: with a pinned target it must be one the target serves; alone, only targets serving it are used.</param>
    /// <param name="allowTarget">Which (target id, model) pairs policy allows, such as <see cref="Evaluation.PolicyEngine.AllowsTarget"/>; null allows all.</param>
    /// <returns>The plan.</returns>
    public RoutePlan Plan(string? requestedModel, string? pinnedTarget = null, string? pinnedModel = null, Func<string, string, bool>? allowTarget = null) =>
        _planner.Plan(requestedModel, pinnedTarget, pinnedModel, allowTarget);

    /// <summary>
    /// Sends a planned request: orders the candidates by strategy, then tries them, falling back on the configured
    /// triggers. Never throws for upstream failures: the result is a success, an upstream error that is not a trigger
    /// (as the upstream said it), or an OpenAI error JSON written by the router (502, 504, 429, or 503 with
    /// <c>Retry-After</c> when every target is open or the wait queue is full). For <paramref name="stream"/>, a target
    /// is committed to only once its first chunk has arrived. Dispose the result.
    /// </summary>
    /// <param name="plan">A plan made by this router.</param>
    /// <param name="body">The chat-completions request JSON, after input policies.</param>
    /// <param name="stream">Whether the caller asked for a stream.</param>
    /// <param name="cancellationToken">The caller's cancellation: stops at once, and is not counted against any target.</param>
    /// <returns>The result.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<RouteResult> SendAsync(RoutePlan plan, ReadOnlyMemory<byte> body, bool stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!plan.IsValid)
        {
            return Finish(Synthesize(400, "invalid_request_error", plan.ErrorCode ?? RouterErrors.InvalidRoute, plan.Error!, null), []);
        }

        foreach (var candidate in plan.Candidates)
        {
            if (candidate.Target.Index >= _targets.Length || !ReferenceEquals(_targets[candidate.Target.Index], candidate.Target))
            {
                throw new ArgumentException("The plan was made by another router.", nameof(plan));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var n = plan.Candidates.Length;
        var order = ArrayPool<int>.Shared.Rent(n);
        var notBefore = ArrayPool<long>.Shared.Rent(n);
        try
        {
            Order(plan, order.AsSpan(0, n));
            Array.Clear(notBefore, 0, n);
            return await RouteAsync(plan, order, notBefore, body, stream, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<long>.Shared.Return(notBefore);
        }
    }

    /// <summary>Stops health probes and disposes the clients that are disposable. Results still open stay usable until disposed.</summary>
    /// <returns>A task that completes when probes have stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_prober is not null)
        {
            await _prober.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var target in _targets)
        {
            switch (target.Client)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        _instruments.Dispose();
    }

    private async ValueTask<RouteResult> RouteAsync(RoutePlan plan, int[] order, long[] notBefore, ReadOnlyMemory<byte> body, bool stream, CancellationToken cancellationToken)
    {
        var overall = TimeSpan.FromMilliseconds(_fallback.OverallTimeoutMs);
        var started = _time.GetTimestamp();
        using var request = new CancellationTokenSource(overall, _time);
        using var callerLink = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), request);

        var n = plan.Candidates.Length;
        var maxAttempts = _fallback.MaxFallbackAttempts + 1;
        var attempts = new List<RouteAttempt>(Math.Min(maxAttempts, 4));
        var story = new StringBuilder();
        var cursor = 0;
        AttemptKind? lastFailure = null;
        TimeSpan? lastRetryAfter = null;
        TimeSpan? soonestHalfOpen = null;
        var skippedOpen = false;
        var deadlineHit = false;
        string? stopReason = null;
        (RouteCandidate Candidate, byte[] Body)? notImplemented = null;

        while (attempts.Count < maxAttempts)
        {
            var pick = NextCandidate(plan, order, n, notBefore, ref cursor, story, ref skippedOpen, ref soonestHalfOpen);
            if (pick < 0)
            {
                break;
            }

            var candidate = plan.Candidates[pick];
            var elapsed = _time.GetElapsedTime(started);
            if (attempts.Count > 0)
            {
                var wait = Backoff(attempts.Count);
                if (notBefore[pick] > elapsed.Ticks)
                {
                    wait = TimeSpan.FromTicks(Math.Max(wait.Ticks, notBefore[pick] - elapsed.Ticks));
                }

                if (elapsed + wait >= overall)
                {
                    stopReason = $"the next attempt would start after the overall deadline of {_fallback.OverallTimeoutMs} ms";
                    break;
                }

                try
                {
                    await Task.Delay(wait, _time, request.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    deadlineHit = true;
                    break;
                }

                elapsed = _time.GetElapsedTime(started);
            }

            ConcurrencyGate.Lease? lease;
            try
            {
                lease = await _gate.EnterAsync(request.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                deadlineHit = true;
                stopReason = "the overall deadline passed while waiting for a free upstream slot";
                break;
            }

            if (lease is null)
            {
                _instruments.QueueRejected.Add(1);
                story.Append(story.Length > 0 ? "; " : string.Empty).Append("the router's wait queue is full");
                return Finish(Synthesize(503, "server_error", RouterErrors.QueueFull, Message("no upstream slot is free and the router's wait queue is full; retry shortly", story), TimeSpan.FromSeconds(1)), attempts);
            }

            var remaining = overall - _time.GetElapsedTime(started);
            var timeout = TimeSpan.FromMilliseconds(Math.Min(candidate.Target.Target.TimeoutMs, Math.Max(1, remaining.TotalMilliseconds)));
            var scope = new AttemptScope(candidate, body, stream, timeout, lease, _time, request.Token, cancellationToken, _onReleased);
            _instruments.InFlight.Add(1, Tag(candidate.Target));
            using (var activity = StartAttemptActivity(candidate, attempts.Count + 1))
            {
                await ExecuteAsync(scope).ConfigureAwait(false);
                EndAttemptActivity(activity, scope);
            }

            if (scope.Kind == AttemptKind.Cancelled)
            {
                await scope.DisposeAsync().ConfigureAwait(false);
                throw new OperationCanceledException(cancellationToken);
            }

            if (scope.Kind == AttemptKind.Rejected)
            {
                // Lost the race for a half-open probe: nothing was sent, so it is not an attempt.
                await scope.DisposeAsync().ConfigureAwait(false);
                notBefore[pick] = Excluded;
                skippedOpen = true;
                Append(story, candidate.Target.Id, scope.Detail);
                continue;
            }

            Record(scope);
            attempts.Add(new RouteAttempt(candidate.Target.Id, scope.Kind.Name(), scope.StatusCode, scope.Elapsed) { Model = candidate.Model, RetryAfter = scope.RetryAfter });

            if (scope.Kind == AttemptKind.Ok)
            {
                return Commit(scope, attempts);
            }

            var trigger = scope.Kind.Trigger();
            if (trigger is null || !_triggers[(int)trigger.Value])
            {
                // Not a fallback trigger (a 4xx, or a trigger class left out of providers.fallback.triggers): as it is.
                if (scope.Answered)
                {
                    return Commit(scope, attempts);
                }

                await scope.DisposeAsync().ConfigureAwait(false);
                Append(story, candidate.Target.Id, scope.Detail);
                return Finish(FinalFailure(scope.Kind, null, story, null), attempts);
            }

            Append(story, candidate.Target.Id, scope.Detail);
            lastFailure = scope.Kind;
            lastRetryAfter = scope.RetryAfter;

            // 501 is permanent (an adapter family without its runner, a feature the upstream lacks): fall back, but do
            // not retry that target, and if nothing else answers, the caller gets the 501 as the target said it.
            notImplemented = scope.StatusCode == NotImplemented ? (candidate, scope.Response!.Body.ToArray()) : null;
            if (notImplemented is not null)
            {
                notBefore[pick] = Excluded;
            }

            await scope.DisposeAsync().ConfigureAwait(false);
            if (scope.DeadlinePassed)
            {
                deadlineHit = true;
                break;
            }

            if (scope.RetryAfter is { } retryAfter && _fallback.RespectRetryAfter)
            {
                // Honoured for the target that sent it: this request does not go back to it before then, or, when the
                // wait is longer than max_retry_after_ms, not at all.
                notBefore[pick] = retryAfter > TimeSpan.FromMilliseconds(_fallback.MaxRetryAfterMs)
                    ? Excluded
                    : (_time.GetElapsedTime(started) + retryAfter).Ticks;
            }

            if (attempts.Count < maxAttempts)
            {
                _instruments.Fallbacks.Add(1, new KeyValuePair<string, object?>("target", candidate.Target.Id), new KeyValuePair<string, object?>("outcome", scope.Kind.Name()));
            }
        }

        if (deadlineHit)
        {
            var reason = stopReason ?? $"the overall deadline of {_fallback.OverallTimeoutMs} ms passed";
            return Finish(Synthesize(504, "server_error", RouterErrors.UpstreamTimeout, Message(reason, story), null), attempts);
        }

        if (notImplemented is var (target, answer))
        {
            _instruments.Requests.Add(1, Tag(target.Target), new KeyValuePair<string, object?>("status", NotImplemented));
            return new RouteResult(new ProviderResponse(NotImplemented, answer), target.Target.Id, target.Model, attempts, synthesized: false);
        }

        if (lastFailure is { } failure)
        {
            return Finish(FinalFailure(failure, lastRetryAfter, story, stopReason ?? (attempts.Count >= maxAttempts ? $"max_fallback_attempts ({_fallback.MaxFallbackAttempts}) reached" : null)), attempts);
        }

        // Nothing was sent: every candidate's breaker is open (or its probe is in flight).
        var retry = RouterErrors.RetryAfterSeconds(soonestHalfOpen ?? TimeSpan.Zero);
        var what = skippedOpen ? "every provider target for this request has an open circuit breaker" : "no provider target is available for this request";
        return Finish(Synthesize(503, "server_error", RouterErrors.NoHealthyTarget, Message(what, story), retry), attempts);
    }

    private int NextCandidate(RoutePlan plan, int[] order, int n, long[] notBefore, ref int cursor, StringBuilder story, ref bool skippedOpen, ref TimeSpan? soonestHalfOpen)
    {
        var now = _time.GetUtcNow();
        for (var step = 0; step < n; step++)
        {
            var position = (cursor + step) % n;
            var pick = order[position];
            if (notBefore[pick] == Excluded)
            {
                continue;
            }

            var target = plan.Candidates[pick].Target;
            if (target.IsBlocked(now, out var untilHalfOpen))
            {
                if (!skippedOpen || soonestHalfOpen is null || untilHalfOpen < soonestHalfOpen)
                {
                    soonestHalfOpen = untilHalfOpen;
                }

                if (!skippedOpen || story.ToString().IndexOf("'" + target.Id + "' skipped", StringComparison.Ordinal) < 0)
                {
                    Append(story, target.Id, "skipped: circuit breaker open");
                }

                skippedOpen = true;
                continue;
            }

            cursor = (position + 1) % n;
            return pick;
        }

        return -1;
    }

    private async ValueTask ExecuteAsync(AttemptScope scope)
    {
        if (scope.Target.Breaker is not { } breaker)
        {
            await scope.RunAsync().ConfigureAwait(false);
            return;
        }

        var startedAt = _time.GetUtcNow();
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        try
        {
            var outcome = await breaker.ExecuteOutcomeAsync(RunAttempt, context, scope).ConfigureAwait(false);
            if (outcome.Exception is BrokenCircuitException)
            {
                scope.Reject();
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        scope.Target.AfterBreakerExecution(startedAt, _time.GetUtcNow());
    }

    private RouteResult Commit(AttemptScope scope, List<RouteAttempt> attempts)
    {
        scope.Commit();
        var upstream = scope.Response!;
        var response = scope.Enumerator is not null
            ? new ProviderResponse(upstream.StatusCode, ReadOnlyMemory<byte>.Empty, new CommittedStream(scope, _onStreamError), upstream.RetryAfter, owner: scope)
            : new ProviderResponse(upstream.StatusCode, upstream.Body, upstream.Chunks, upstream.RetryAfter, owner: scope);
        _instruments.Requests.Add(1, Tag(scope.Target), new KeyValuePair<string, object?>("status", upstream.StatusCode));
        return new RouteResult(response, scope.Target.Id, scope.Model, attempts, synthesized: false);
    }

    private RouteResult Finish(ProviderResponse response, List<RouteAttempt> attempts)
    {
        _instruments.Requests.Add(1, new KeyValuePair<string, object?>("target", null), new KeyValuePair<string, object?>("status", response.StatusCode));
        return new RouteResult(response, null, null, attempts, synthesized: true);
    }

    private ProviderResponse FinalFailure(AttemptKind kind, TimeSpan? retryAfter, StringBuilder story, string? stopReason)
    {
        var tail = stopReason is null ? string.Empty : "; stopped: " + stopReason;
        return kind.Trigger() switch
        {
            FallbackTrigger.RateLimit => Synthesize(429, "rate_limit_error", RouterErrors.UpstreamRateLimited, Message("every provider target tried is rate limited" + tail, story), retryAfter is { } ra ? RouterErrors.RetryAfterSeconds(ra) : null),
            FallbackTrigger.Timeout => Synthesize(504, "server_error", RouterErrors.UpstreamTimeout, Message("no provider target answered in time" + tail, story), null),
            _ => Synthesize(502, "server_error", RouterErrors.UpstreamError, Message("no provider target gave a valid answer" + tail, story), null),
        };
    }

    private static ProviderResponse Synthesize(int status, string type, string code, string message, TimeSpan? retryAfter) =>
        RouterErrors.Response(status, type, code, message, retryAfter);

    private static string Message(string summary, StringBuilder story) =>
        story.Length == 0 ? summary : summary + " (" + story + ")";

    private static void Append(StringBuilder story, string targetId, string detail)
    {
        if (story.Length > 0)
        {
            story.Append("; ");
        }

        story.Append('\'').Append(targetId).Append("' ").Append(detail);
    }

    /// <summary>
    /// The pause before attempt number <paramref name="attempt"/> + 1: initial_backoff_ms doubling per attempt, capped at
    /// max_backoff_ms, with "equal jitter" (uniform between half and all of it) so that callers that failed together do
    /// not come back together.
    /// </summary>
    internal TimeSpan Backoff(int attempt)
    {
        var initial = Math.Max(0, _fallback.InitialBackoffMs);
        var cap = Math.Max(initial, _fallback.MaxBackoffMs);
        var exponential = Math.Min(cap, initial * Math.Pow(2, Math.Min(attempt - 1, 30)));
        var jittered = (exponential / 2) + (NextDouble() * exponential / 2);
        return TimeSpan.FromMilliseconds(jittered);
    }

    private void OnStreamError(AttemptScope scope)
    {
        scope.Target.RecordStreamError();
        _instruments.StreamErrors.Add(1, Tag(scope.Target));
    }
}
