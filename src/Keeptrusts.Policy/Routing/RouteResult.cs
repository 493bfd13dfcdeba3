namespace Keeptrusts.Policy.Routing;

/// <summary>
/// What a routed request came to: an upstream's answer (success, or an error the upstream gave that is not a fallback
/// trigger) or an OpenAI error JSON the router wrote itself (<see cref="IsSynthesized"/>). Dispose it to release the
/// upstream connection and the router's concurrency slot; a stream holds both until then.
/// </summary>
public sealed class RouteResult : IAsyncDisposable
{
    internal RouteResult(ProviderResponse response, string? targetId, string? model, IReadOnlyList<RouteAttempt> attempts, bool synthesized)
    {
        Response = response;
        TargetId = targetId;
        Model = model;
        Attempts = attempts;
        IsSynthesized = synthesized;
    }

    /// <summary>
    /// The answer. For a committed stream, <see cref="ProviderResponse.Chunks"/> replays the first chunk and then the
    /// rest; a failure after the first chunk surfaces as a <see cref="ProviderException"/> from the enumerator, and the
    /// router never switches target mid-stream.
    /// </summary>
    public ProviderResponse Response { get; }

    /// <summary>The target that gave <see cref="Response"/>; null when the router wrote it.</summary>
    public string? TargetId { get; }

    /// <summary>The model <see cref="TargetId"/> was asked for; null when the router wrote the response.</summary>
    public string? Model { get; }

    /// <summary>Every attempt made, in order (targets skipped because their breaker was open are not attempts).</summary>
    public IReadOnlyList<RouteAttempt> Attempts { get; }

    /// <summary>Whether the router wrote <see cref="Response"/> (all targets failed, timed out, were open, or the queue was full).</summary>
    public bool IsSynthesized { get; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Response.DisposeAsync();
}

/// <summary>One attempt against one target.</summary>
/// <param name="TargetId">The target.</param>
/// <param name="Outcome">
/// <c>ok</c>, <c>rate_limit</c> (429), <c>server_error</c> (5xx), <c>timeout</c>, <c>client_error</c> (another 4xx),
/// <c>connection_refused</c>, <c>connection_reset</c> or <c>invalid_response</c> (a 2xx that was not a valid answer,
/// such as a stream that ended before its first chunk).
/// </param>
/// <param name="StatusCode">The upstream's HTTP status, when it answered one.</param>
/// <param name="Elapsed">From the start of the attempt to its answer (the first chunk, for a stream) or its failure.</param>
public sealed record RouteAttempt(string TargetId, string Outcome, int? StatusCode, TimeSpan Elapsed)
{
    /// <summary>The model the target was asked for.</summary>
    public string? Model { get; init; }

    /// <summary>The <c>Retry-After</c> the upstream sent with a failure, if any.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>One model a target serves, as listed by <c>GET /v1/models</c>.</summary>
/// <param name="Id">The model id.</param>
/// <param name="TargetId">The target that serves it.</param>
public sealed record RoutableModel(string Id, string TargetId);
