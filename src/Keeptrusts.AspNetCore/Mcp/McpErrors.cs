using ModelContextProtocol;

namespace Keeptrusts.AspNetCore.Mcp;

/// <summary>
/// The JSON-RPC error codes the bridge answers with. Codes of the -32000 to -32099 range are server errors the
/// JSON-RPC specification leaves to implementations; arguments that fail the tool's schema are invalid params.
/// </summary>
internal static class McpErrors
{
    /// <summary>The tool is denied by <c>tool-governance</c>.</summary>
    public const int ToolDenied = -32001;

    /// <summary>A policy of the chain blocked the arguments or the result.</summary>
    public const int ContentBlocked = -32002;

    /// <summary>Arguments or result larger than the configured limit.</summary>
    public const int TooLarge = -32003;

    /// <summary>The upstream MCP server could not be reached or did not answer in time.</summary>
    public const int UpstreamUnavailable = -32004;

    /// <summary>The caller could not be identified or is not allowed (identity, rate limit).</summary>
    public const int Unauthorized = -32005;

    /// <summary>The caller exceeded its rate limit.</summary>
    public const int RateLimited = -32006;

    /// <summary>No MCP target has the id in the path.</summary>
    public const int UnknownTarget = -32007;

    /// <summary>The gateway failed to process the request.</summary>
    public const int Internal = (int)McpErrorCode.InternalError;

    /// <summary>The arguments fail the tool's input schema.</summary>
    public const int InvalidParams = (int)McpErrorCode.InvalidParams;

    public static McpProtocolException Create(int code, string message) => new(message, (McpErrorCode)code);
}
