using Microsoft.Extensions.Logging;

namespace Keeptrusts.Providers.Logging;

/// <summary>The adapters' log messages. None carries a credential or prompt text.</summary>
internal static partial class ProviderLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Target '{TargetId}' uses the adapter family '{Family}' without adapter_command; its requests answer 501 until a local runner is configured")]
    public static partial void AdapterCommandMissing(ILogger logger, string targetId, string family);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Target '{TargetId}' is an MCP target without adapter_command; it is served at /mcp/<id> and chat requests routed to it answer 501")]
    public static partial void McpBridgeUnavailable(ILogger logger, string targetId);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Target '{TargetId}': the credential could not be resolved from secret_key_ref.store '{StoreName}'")]
    public static partial void CredentialUnavailable(ILogger logger, string targetId, string storeName, Exception? exception);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Target '{TargetId}': the local command exited with code {ExitCode}")]
    public static partial void CommandFailed(ILogger logger, string targetId, int exitCode);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "Target '{TargetId}': HTTP {StatusCode} from the upstream")]
    public static partial void UpstreamError(ILogger logger, string targetId, int statusCode);
}
