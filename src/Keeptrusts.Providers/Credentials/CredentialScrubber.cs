using System.Text;

namespace Keeptrusts.Providers.Credentials;

/// <summary>Removes a credential from text an upstream sent back (some echo the key in their 401 bodies).</summary>
internal static class CredentialScrubber
{
    public const string Replacement = "[redacted]";

    // Shorter values would blank out ordinary text; real keys are far longer.
    private const int MinimumLength = 4;

    public static ReadOnlyMemory<byte> Scrub(ReadOnlyMemory<byte> body, string? credential)
    {
        if (credential is null || credential.Length < MinimumLength)
        {
            return body;
        }

        var needle = Encoding.UTF8.GetBytes(credential);
        var span = body.Span;
        var at = span.IndexOf(needle);
        if (at < 0)
        {
            return body;
        }

        var replacement = Encoding.UTF8.GetBytes(Replacement);
        var output = new List<byte>(body.Length);
        while (at >= 0)
        {
            output.AddRange(span[..at]);
            output.AddRange(replacement);
            span = span[(at + needle.Length)..];
            at = span.IndexOf(needle);
        }

        output.AddRange(span);
        return output.ToArray();
    }

    public static string Scrub(string text, string? credential)
        => credential is null || credential.Length < MinimumLength ? text : text.Replace(credential, Replacement, StringComparison.Ordinal);
}
