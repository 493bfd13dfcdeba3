namespace Keeptrusts.AspNetCore.Http;

/// <summary>The header names of the gateway's HTTP surface.</summary>
internal static class GatewayHeaders
{
    /// <summary>Pins a request to one provider target.</summary>
    public const string Provider = "X-Keeptrusts-Provider";

    /// <summary>Overrides the model within the pinned (or any serving) target.</summary>
    public const string Model = "X-Keeptrusts-Model";

    /// <summary>Scopes session continuity to one conversation.</summary>
    public const string ConversationId = "X-Conversation-ID";

    /// <summary>The caller's user id, an unverified hint (<c>header_soft</c>).</summary>
    public const string UserId = "X-User-ID";

    /// <summary>The caller's role, an unverified hint.</summary>
    public const string UserRole = "X-User-Role";

    /// <summary>The id of the request in decision records and logs, on every answer.</summary>
    public const string RequestId = "X-Keeptrusts-Request-Id";

    /// <summary>The configuration revision that served the request.</summary>
    public const string Revision = "X-Keeptrusts-Revision";

    /// <summary>The provider target that answered.</summary>
    public const string Target = "X-Keeptrusts-Target";

    /// <summary>Requests allowed per minute in the caller's rate-limit bucket.</summary>
    public const string RateLimitLimit = "X-RateLimit-Limit";

    /// <summary>Requests left in the caller's rate-limit bucket this minute; 0 on a 429.</summary>
    public const string RateLimitRemaining = "X-RateLimit-Remaining";

    /// <summary>The longest value accepted in a header the gateway reads (pins, conversation id).</summary>
    public const int MaxValueLength = 256;
}
