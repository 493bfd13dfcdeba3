namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// One finding of the scanner: where it is and what it is, never the matched text itself, so a
/// match can be logged, counted or sent to telemetry without leaking the value.
/// </summary>
/// <param name="Type">The entity type found.</param>
/// <param name="Start">UTF-16 index of the first character of the match.</param>
/// <param name="Length">Number of UTF-16 characters matched.</param>
/// <param name="Score">Confidence between 0 and 1; checksum-validated findings score highest.</param>
/// <param name="Subtype">For <see cref="PiiEntityType.Secret"/>, the kind of secret (for example <c>github_token</c>); otherwise <see langword="null"/>.</param>
internal readonly record struct PiiMatch(PiiEntityType Type, int Start, int Length, double Score, string? Subtype = null)
{
    /// <summary>UTF-16 index just past the last matched character.</summary>
    public int End => Start + Length;
}
