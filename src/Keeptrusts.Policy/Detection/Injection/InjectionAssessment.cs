namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// The outcome of assessing one text. It deliberately carries offsets rather than text so that an
/// assessment can be logged or attached to a decision without leaking prompt content.
/// </summary>
/// <param name="Score">Likelihood-like score in [0, 1]; higher means more injection evidence.</param>
/// <param name="Categories">Categories of the signals that contributed to the score.</param>
/// <param name="SignalStart">UTF-16 offset of the strongest signal in the assessed text; 0 when there is none.</param>
/// <param name="SignalLength">UTF-16 length of the strongest signal (end exclusive); 0 when there is none.</param>
internal readonly record struct InjectionAssessment(double Score, InjectionCategory Categories, int SignalStart, int SignalLength)
{
    /// <summary>Gets the end (exclusive) of the strongest signal.</summary>
    public int SignalEnd => SignalStart + SignalLength;
}
