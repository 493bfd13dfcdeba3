using System.Security.Cryptography;

namespace Keeptrusts.AspNetCore.Endpoints;

/// <summary>Ids that correlate an answer, its decision records and its log lines.</summary>
internal static class RequestIds
{
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return "req_" + Convert.ToHexStringLower(bytes);
    }
}
