namespace Keeptrusts.Providers.Streaming;

/// <summary>
/// A source reported an error inside a stream (an error event, a runner that exited non-zero). Before the first chunk
/// it becomes an error response with <see cref="StatusCode"/>; after it, a <c>ConnectionReset</c> failure.
/// </summary>
internal sealed class UpstreamStreamErrorException(int statusCode, byte[] errorJson, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public byte[] ErrorJson { get; } = errorJson;
}

/// <summary>An upstream answered 2xx with something that is not a valid answer.</summary>
internal sealed class InvalidUpstreamResponseException(string message) : Exception(message);

/// <summary>The request cannot be expressed in the target's format; answered with 400.</summary>
internal sealed class InvalidRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}
