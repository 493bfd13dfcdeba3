using Keeptrusts.Policy.Detection.Pii;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

/// <summary>A shared all-entities scanner and helpers that turn matches back into text for assertions.</summary>
internal static class PiiTestScanner
{
    public static PiiScanner All { get; } = new(new PiiScannerOptions());

    public static List<PiiMatch> Matches(string text, PiiScanner? scanner = null)
    {
        var results = new List<PiiMatch>();
        (scanner ?? All).Scan(text, results);
        return results;
    }

    public static string[] Values(string text, PiiEntityType type) =>
        [.. Matches(text).Where(m => m.Type == type).Select(m => text.Substring(m.Start, m.Length))];
}
