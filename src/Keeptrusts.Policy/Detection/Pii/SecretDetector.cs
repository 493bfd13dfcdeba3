namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Runs the three secret passes: provider prefixes, named assignments and random-looking tokens.</summary>
internal static class SecretDetector
{
    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        SecretPrefixRules.Scan(text, results);
        SecretAssignmentRules.Scan(text, results);
        SecretTokenRules.Scan(text, results);
    }
}
