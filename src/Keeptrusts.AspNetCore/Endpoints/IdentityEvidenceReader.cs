using Keeptrusts.AspNetCore.Http;
using Keeptrusts.Policy.Identity;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>Takes what a request presents about its caller from its headers.</summary>
internal static class IdentityEvidenceReader
{
    public static IdentityEvidence Read(HttpRequest request)
    {
        var headers = request.Headers;
        return new IdentityEvidence
        {
            Authorization = Single(headers.Authorization),
            UserIdHint = Single(headers[GatewayHeaders.UserId]),
            UserRoleHint = Single(headers[GatewayHeaders.UserRole]),
        };
    }

    /// <summary>The one value of a header; several values count as none being usable, so the first is never trusted blindly.</summary>
    private static string? Single(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 1 ? values[0] : null;
}
