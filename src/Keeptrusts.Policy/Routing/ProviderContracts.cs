using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Routing;

/// <summary>One attempt against one provider target, in OpenAI chat-completions terms.</summary>
public sealed record ProviderRequest
{
    /// <summary>The target the attempt goes to.</summary>
    public required ProviderTarget Target { get; init; }

    /// <summary>The model to ask the upstream for, already resolved from the request, the target and any pin.</summary>
    public required string Model { get; init; }

    /// <summary>
    /// The request as OpenAI chat-completions JSON, after input policies. The adapter sets <c>model</c> to
    /// <see cref="Model"/> and translates the body when the target speaks another format; any other field
    /// passes through untouched.
    /// </summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Whether the caller asked for a streamed (SSE) answer.</summary>
    public bool Stream { get; init; }

    /// <summary>The time this attempt may take before the adapter gives up with <see cref="ProviderFailureKind.Timeout"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Why an attempt failed before it produced an HTTP status (or after, mid-body).</summary>
public enum ProviderFailureKind
{
    /// <summary>The upstream refused the connection or its host could not be resolved.</summary>
    ConnectionRefused,

    /// <summary>The connection broke while the request or the response was in flight.</summary>
    ConnectionReset,

    /// <summary>The attempt passed its timeout.</summary>
    Timeout,

    /// <summary>The upstream answered 2xx with a body that is not a valid response (malformed, empty, too large).</summary>
    InvalidResponse,
}

/// <summary>A transport-level failure of one attempt, classified for fallback decisions.</summary>
public sealed class ProviderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProviderException(ProviderFailureKind kind, string targetId, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        TargetId = targetId;
    }

    /// <summary>Creates an exception with a generic message (for serializers and analyzers).</summary>
    public ProviderException() : this(ProviderFailureKind.ConnectionReset, string.Empty, "The provider attempt failed.") { }

    /// <summary>Creates an exception with the given message.</summary>
    public ProviderException(string message) : this(ProviderFailureKind.ConnectionReset, string.Empty, message) { }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public ProviderException(string message, Exception innerException) : this(ProviderFailureKind.ConnectionReset, string.Empty, message, innerException) { }

    /// <summary>What kind of failure this was.</summary>
    public ProviderFailureKind Kind { get; }

    /// <summary>The target the failed attempt went to.</summary>
    public string TargetId { get; }
}

/// <summary>
/// What an upstream answered, in OpenAI terms. A non-streamed answer and every error carry <see cref="Body"/>;
/// a streamed 2xx answer carries <see cref="Chunks"/> instead. Dispose to release the connection.
/// </summary>
public sealed class ProviderResponse : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owner;

    /// <summary>Creates a response. <paramref name="owner"/> is disposed with the response.</summary>
    public ProviderResponse(int statusCode, ReadOnlyMemory<byte> body, IAsyncEnumerable<ReadOnlyMemory<byte>>? chunks = null, TimeSpan? retryAfter = null, IAsyncDisposable? owner = null)
    {
        StatusCode = statusCode;
        Body = body;
        Chunks = chunks;
        RetryAfter = retryAfter;
        _owner = owner;
    }

    /// <summary>The HTTP status, as the upstream sent it (after translation for non-OpenAI formats).</summary>
    public int StatusCode { get; }

    /// <summary>
    /// For a non-streamed 2xx answer, the <c>chat.completion</c> JSON; for an error, OpenAI error JSON
    /// (<c>{"error":{"message","type","param","code"}}</c>). Empty when <see cref="Chunks"/> is set.
    /// </summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>
    /// For a streamed 2xx answer, the <c>chat.completion.chunk</c> JSON payloads in order, without SSE framing and
    /// without the final <c>[DONE]</c>. A failure mid-stream surfaces as a <see cref="ProviderException"/> from the enumerator.
    /// </summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>>? Chunks { get; }

    /// <summary>The upstream's <c>Retry-After</c>, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether the status is 2xx.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _owner?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Talks to one provider target. Implementations are thread-safe and long-lived.</summary>
public interface IProviderClient
{
    /// <summary>Sends one attempt. HTTP errors come back as responses; transport failures throw <see cref="ProviderException"/>.</summary>
    ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// An active health probe that never sends a billed completion (for HTTP targets, <c>GET</c> of
    /// <paramref name="path"/> relative to the base URL). Returns whether the target answered healthily.
    /// </summary>
    ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken);
}

/// <summary>Creates the client for a target. Throws <see cref="ProviderConfigurationException"/> when the target cannot be served.</summary>
public interface IProviderClientFactory
{
    /// <summary>Creates the client for <paramref name="target"/>.</summary>
    IProviderClient Create(ProviderTarget target);
}

/// <summary>A target that cannot be served as configured (missing credential, missing secret resolver, rejected family).</summary>
public sealed class ProviderConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProviderConfigurationException(string targetId, string message) : base(message) => TargetId = targetId;

    /// <summary>Creates an exception with a generic message.</summary>
    public ProviderConfigurationException() : this(string.Empty, "A provider target cannot be served as configured.") { }

    /// <summary>Creates an exception with the given message.</summary>
    public ProviderConfigurationException(string message) : this(string.Empty, message) { }

    /// <summary>Creates an exception with the given message and cause.</summary>
    public ProviderConfigurationException(string message, Exception innerException) : base(message, innerException) => TargetId = string.Empty;

    /// <summary>The target that cannot be served.</summary>
    public string TargetId { get; }
}
