using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>The relay's log messages, with fixed event ids (4001–4030). Never a token, never a body.</summary>
internal static partial class RelayLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Relay connecting to {Url}")]
    public static partial void Connecting(ILogger logger, string url);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Relay registered as {RegistrationId} (session {SessionId})")]
    public static partial void Registered(ILogger logger, string registrationId, string sessionId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Relay connection failed: {Reason}; retrying in {Seconds} s")]
    public static partial void ConnectFailed(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Relay authentication failed ({Reason}): check KEEPTRUSTS_API_TOKEN; retrying in {Seconds} s")]
    public static partial void AuthFailed(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Relay connection lost ({Reason}) after {Seconds} s; {InFlight} request(s) in flight were cancelled")]
    public static partial void Dropped(ILogger logger, string reason, double seconds, int inFlight);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Relay registration not acknowledged within {Seconds} s")]
    public static partial void RegistrationTimeout(ILogger logger, double seconds);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Relay frame ignored: {Problem}")]
    public static partial void MalformedFrame(ILogger logger, string problem);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Relay frame of more than {Limit} bytes dropped{Answered}")]
    public static partial void OversizeFrame(ILogger logger, int limit, string answered);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Debug, Message = "Relay frame of unknown type {Type} ignored")]
    public static partial void UnknownFrame(ILogger logger, string type);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Relay request {Id} refused: {InFlight} requests already in flight (limit)")]
    public static partial void Busy(ILogger logger, string id, int inFlight);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Relay request {Id} failed before its answer started: {Reason}")]
    public static partial void ForwardFailed(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Relay request {Id} failed while streaming its answer: {Reason}")]
    public static partial void StreamFailed(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "Relay request {Id} ignored: a request with that id is already in flight")]
    public static partial void DuplicateId(ILogger logger, string id);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "Relay draining: no new requests; waiting for {InFlight} in flight")]
    public static partial void Draining(ILogger logger, int inFlight);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "Relay closed (1001 going away)")]
    public static partial void Closed(ILogger logger);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "Relay is off: {Reason}")]
    public static partial void Off(ILogger logger, string reason);
}
