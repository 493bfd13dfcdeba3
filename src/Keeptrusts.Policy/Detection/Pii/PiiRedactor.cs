using System.Text;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Replaces scanner findings with placeholders such as <c>[REDACTED:EMAIL_ADDRESS]</c>.</summary>
internal static class PiiRedactor
{
    private static readonly Dictionary<PiiEntityType, string> DefaultPlaceholders =
        PiiEntityTypeNames.SingleTypes.ToDictionary(static t => t, static t => $"[REDACTED:{PiiEntityTypeNames.ToCanonicalName(t)}]");

    /// <summary>The default placeholder for <paramref name="type"/>: <c>[REDACTED:CANONICAL_NAME]</c>.</summary>
    public static string DefaultPlaceholder(PiiEntityType type) =>
        DefaultPlaceholders.TryGetValue(type, out var placeholder) ? placeholder : "[REDACTED]";

    /// <summary>
    /// Returns <paramref name="text"/> with every match replaced by its placeholder. Matches may come in any
    /// order; a match that overlaps an earlier one is absorbed by it. The default placeholders are never
    /// detected themselves, so redacting is idempotent; a custom <paramref name="placeholder"/> must keep that promise.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A match lies outside <paramref name="text"/>.</exception>
    public static string Redact(string text, IReadOnlyList<PiiMatch> matches, Func<PiiEntityType, string>? placeholder = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(matches);
        if (matches.Count == 0)
        {
            return text;
        }

        var ordered = new PiiMatch[matches.Count];
        for (var i = 0; i < ordered.Length; i++)
        {
            var match = matches[i];
            if (match.Start < 0 || match.Length < 0 || match.End > text.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(matches), $"Match {i} ({match.Start}..{match.End}) lies outside the text (length {text.Length}).");
            }

            ordered[i] = match;
        }

        Array.Sort(ordered, static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
        placeholder ??= DefaultPlaceholder;
        var builder = new StringBuilder(text.Length + (ordered.Length * 16));
        var copied = 0;
        foreach (var match in ordered)
        {
            if (match.Start < copied)
            {
                if (match.End > copied)
                {
                    copied = match.End;
                }

                continue;
            }

            builder.Append(text, copied, match.Start - copied).Append(placeholder(match.Type));
            copied = match.End;
        }

        return builder.Append(text, copied, text.Length - copied).ToString();
    }
}
