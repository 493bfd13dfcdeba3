using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Telemetry;

/// <summary>
/// Every log message of the gateway, with fixed event ids. Messages carry ids, codes and counts, never prompt text,
/// credentials or tokens.
/// </summary>
internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Keeptrusts gateway configuration revision {Revision} loaded ({Targets} provider targets, {Policies} policies, {Warnings} warnings)")]
    public static partial void ConfigLoaded(ILogger logger, string revision, int targets, int policies, int warnings);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Configuration finding: {Diagnostic}")]
    public static partial void ConfigFinding(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Configuration reload rejected with {Errors} error(s); revision {Revision} keeps serving")]
    public static partial void ReloadRejected(ILogger logger, int errors, string revision);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Configuration reloaded: revision {Previous} replaced by {Revision}")]
    public static partial void Reloaded(ILogger logger, string previous, string revision);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Configuration reload found no change; revision {Revision} keeps serving")]
    public static partial void ReloadUnchanged(ILogger logger, string revision);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Releasing configuration revision {Revision} failed")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception, string revision);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Configuration file change detected; reloading")]
    public static partial void FileChangeDetected(ILogger logger);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Watching configuration files failed ({ErrorType}); reload with the runtime API or a signal instead")]
    public static partial void WatchFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Request {RequestId} blocked by {Policy} ({Phase}, status {Status})")]
    public static partial void Blocked(ILogger logger, string? requestId, string? policy, string phase, int status);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Request {RequestId} refused: {Status} {Reason}")]
    public static partial void Refused(ILogger logger, string? requestId, int status, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Request {RequestId}: upstream {Target} answered {Status}")]
    public static partial void UpstreamError(ILogger logger, string? requestId, string? target, int status);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Request {RequestId}: stream from {Target} broke ({Kind})")]
    public static partial void StreamBroken(ILogger logger, string? requestId, string? target, string kind);

    [LoggerMessage(EventId = 24, Level = LogLevel.Debug, Message = "Request {RequestId}: the caller went away; upstream request cancelled")]
    public static partial void CallerGone(ILogger logger, string? requestId);

    [LoggerMessage(EventId = 25, Level = LogLevel.Error, Message = "Request {RequestId} failed unexpectedly")]
    public static partial void Unexpected(ILogger logger, Exception exception, string? requestId);

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning, Message = "Request {RequestId} cancelled: configuration revision {Revision} was replaced and its drain timeout passed")]
    public static partial void DrainCancelled(ILogger logger, string? requestId, string revision);

    [LoggerMessage(EventId = 27, Level = LogLevel.Warning, Message = "Rate limiter: {Message}")]
    public static partial void RateLimitBackend(ILogger logger, string message);

    [LoggerMessage(EventId = 29, Level = LogLevel.Information, Message = "Shared state: rate limits, spend and fingerprints are shared through {Store}")]
    public static partial void SharedState(ILogger logger, string store);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Request {RequestId}: duplicate of a request seen within {WindowSeconds} s")]
    public static partial void Duplicate(ILogger logger, string? requestId, int windowSeconds);

    [LoggerMessage(EventId = 28, Level = LogLevel.Information, Message = "Request {RequestId}: rate limit reached for bucket scope {Scope}")]
    public static partial void RateLimited(ILogger logger, string? requestId, string scope);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Runtime API {Path}: authentication failed")]
    public static partial void AdminDenied(ILogger logger, string path);
}
