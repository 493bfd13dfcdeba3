using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// Finds PII and secrets in text. Immutable and thread-safe once constructed; one instance serves every request.
/// </summary>
/// <remarks>
/// Each detector makes one pass keyed on a character its entity cannot lack (digits, <c>@</c>, <c>:</c>,
/// <c>=</c>, a provider prefix), found with vectorised <c>IndexOfAny</c>; everything else is skipped
/// without being examined. Validation (checksums, length tables, context words) runs only on those
/// candidates, and every pass resumes after what it consumed, so cost stays linear in the text length.
/// Nothing is allocated unless something is found.
/// </remarks>
internal sealed class PiiScanner
{
    private const int MaxRedactionRounds = 8;
    private const PiiEntityType NumberTypes = PiiEntityType.CreditCard | PiiEntityType.UsSsn | PiiEntityType.PhoneNumber
        | PiiEntityType.IpAddress | PiiEntityType.IbanCode | PiiEntityType.Crypto;

    private static readonly TimeSpan AllowPatternTimeout = TimeSpan.FromMilliseconds(50);

    private readonly PiiEntityType _entities;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>? _allowValues;
    private readonly Regex[] _allowPatterns;

    /// <summary>Creates a scanner for <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public PiiScanner(PiiScannerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if ((options.Entities & ~PiiEntityType.All) != 0)
        {
            errors.Add($"Entities: unknown flags 0x{(int)(options.Entities & ~PiiEntityType.All):x}.");
        }

        var allowList = options.AllowList ?? [];
        for (var i = 0; i < allowList.Count; i++)
        {
            if (string.IsNullOrEmpty(allowList[i]))
            {
                errors.Add($"AllowList[{i}]: empty value.");
            }
        }

        var patterns = options.AllowPatterns ?? [];
        var compiled = new List<Regex>(patterns.Count);
        for (var i = 0; i < patterns.Count; i++)
        {
            try
            {
                compiled.Add(new Regex($@"\A(?:{patterns[i]})\z", RegexOptions.CultureInvariant | RegexOptions.Compiled, AllowPatternTimeout));
            }
            catch (ArgumentException ex)
            {
                errors.Add($"AllowPatterns[{i}]: {ex.Message}");
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid PII scanner options:" + Environment.NewLine + string.Join(Environment.NewLine, errors), nameof(options));
        }

        _entities = options.Entities;
        _allowValues = allowList.Count == 0 ? null : allowList.ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
        _allowPatterns = [.. compiled];
    }

    /// <summary>The entity types this scanner looks for.</summary>
    public PiiEntityType Entities => _entities;

    /// <summary>
    /// Appends the findings in <paramref name="text"/> to <paramref name="results"/>: ordered by start,
    /// never overlapping (of two overlapping candidates the longer, then the higher-scoring, wins). Entries
    /// already in the list are left alone.
    /// </summary>
    public void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (text.IsEmpty || _entities == PiiEntityType.None)
        {
            return;
        }

        var first = results.Count;
        if ((_entities & PiiEntityType.EmailAddress) != 0)
        {
            EmailDetector.Scan(text, results);
        }

        if ((_entities & NumberTypes) != 0)
        {
            NumberDetector.Scan(text, _entities, results);
        }

        if ((_entities & PiiEntityType.IpAddress) != 0)
        {
            Ipv6Detector.Scan(text, results);
        }

        if ((_entities & PiiEntityType.Secret) != 0)
        {
            SecretDetector.Scan(text, results);
        }

        if (results.Count > first)
        {
            Resolve(text, results, first);
        }
    }

    /// <summary>
    /// Scans and redacts until nothing is found, so the result holds nothing this scanner detects even
    /// when removing one finding exposes another.
    /// </summary>
    public string Redact(string text, Func<PiiEntityType, string>? placeholder = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matches = new List<PiiMatch>();
        for (var round = 0; round < MaxRedactionRounds; round++)
        {
            matches.Clear();
            Scan(text, matches);
            if (matches.Count == 0)
            {
                return text;
            }

            text = PiiRedactor.Redact(text, matches, placeholder);
        }

        return text;
    }

    private void Resolve(ReadOnlySpan<char> text, List<PiiMatch> results, int first)
    {
        var found = CollectionsMarshal.AsSpan(results)[first..];
        found.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
        var kept = 0;
        foreach (var candidate in found)
        {
            if (IsAllowed(text.Slice(candidate.Start, candidate.Length)))
            {
                continue;
            }

            if (kept > 0 && found[kept - 1].End > candidate.Start)
            {
                if (IsBetter(candidate, found[kept - 1]))
                {
                    found[kept - 1] = candidate;
                }

                continue;
            }

            found[kept++] = candidate;
        }

        results.RemoveRange(first + kept, found.Length - kept);
    }

    private static bool IsBetter(PiiMatch candidate, PiiMatch current) =>
        candidate.Length != current.Length ? candidate.Length > current.Length : candidate.Score > current.Score;

    private bool IsAllowed(ReadOnlySpan<char> value)
    {
        if (_allowValues is { } allowValues && allowValues.Contains(value))
        {
            return true;
        }

        foreach (var pattern in _allowPatterns)
        {
            try
            {
                if (pattern.IsMatch(value))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A pattern too slow to decide does not exempt the finding: failing closed keeps the value redacted.
            }
        }

        return false;
    }
}
