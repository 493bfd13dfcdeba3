using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>The standalone host's log messages, with fixed event ids. Never a secret, never prompt text.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Listening on {Addresses} (revision {Revision}, pack {Pack} {Version}, targets: {Targets})")]
    public static partial void Listening(ILogger logger, string addresses, string revision, string pack, string version, string targets);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Settings: {Settings}")]
    public static partial void Settings(ILogger logger, string settings);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "--upstream is set: every configured provider is replaced by {Upstream} (debug only; prefer providers in policy-config.yaml)")]
    public static partial void UpstreamOverride(ILogger logger, string upstream);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Configuration warning: {Diagnostic}")]
    public static partial void ConfigWarning(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Reloading the configuration files (SIGHUP)")]
    public static partial void ReloadRequested(ILogger logger);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Shutting down: no new connections; waiting up to {Seconds} s for requests in flight")]
    public static partial void Stopping(ILogger logger, double seconds);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "Second signal: cutting the drain short")]
    public static partial void Aborting(ILogger logger);
}
