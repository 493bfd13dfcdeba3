using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Detection.Pii;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.PiiDetector;

/// <summary>The <c>pii-detector</c> policy: personal data and secrets, redacted, blocked or recorded.</summary>
internal sealed class PiiDetectorDefinition : PolicyDefinition<PiiDetectorOptions>
{
    public override string Id => PolicyCatalog.PiiDetector;

    internal static PiiScannerOptions ScannerOptions(PiiDetectorOptions options) => new()
    {
        Entities = options.Entities.Count == 0 ? PiiEntityType.All : options.Entities.Aggregate(PiiEntityType.None, static (all, e) => all | ToScannerType(e)),
        AllowList = options.Allow,
        AllowPatterns = options.AllowPatterns,
    };

    internal static PiiEntityType ToScannerType(PiiEntity entity) => entity switch
    {
        PiiEntity.EmailAddress => PiiEntityType.EmailAddress,
        PiiEntity.PhoneNumber => PiiEntityType.PhoneNumber,
        PiiEntity.CreditCard => PiiEntityType.CreditCard,
        PiiEntity.UsSsn => PiiEntityType.UsSsn,
        PiiEntity.IbanCode => PiiEntityType.IbanCode,
        PiiEntity.IpAddress => PiiEntityType.IpAddress,
        PiiEntity.Crypto => PiiEntityType.Crypto,
        _ => PiiEntityType.Secret,
    };

    protected override void Check(PiiDetectorOptions options, PolicyCheckContext context)
    {
        for (var i = 0; i < options.AllowPatterns.Count; i++)
        {
            try
            {
                _ = new System.Text.RegularExpressions.Regex(options.AllowPatterns[i], System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
            }
            catch (ArgumentException ex)
            {
                context.Report(DiagnosticCodes.PiiAllowPatternInvalid, $"allow_patterns[{i}] is not a valid regular expression: {ex.Message}", $"allow_patterns[{i}]");
            }
        }

        if (options.RedactionFormat.Contains(PiiDetectorOptions.TypeToken, StringComparison.Ordinal))
        {
            // A placeholder the scanner itself detects would be redacted again and again.
            var scanner = new PiiScanner(new PiiScannerOptions());
            var sample = Placeholder(options.RedactionFormat, PiiEntityType.EmailAddress);
            var found = new List<PiiMatch>();
            scanner.Scan(sample, found);
            if (found.Count > 0)
            {
                context.Report(DiagnosticCodes.PiiPlaceholderDetected, $"the redaction format produces text that is itself detected as {PiiEntityTypeNames.ToCanonicalName(found[0].Type)}; choose a placeholder without personal data or secrets", "redaction_format");
            }
        }

        var seen = new HashSet<PiiEntity>();
        for (var i = 0; i < options.Entities.Count; i++)
        {
            if (!seen.Add(options.Entities[i]))
            {
                context.Report(DiagnosticCodes.PiiDuplicateEntity, $"entities[{i}] repeats an entity type already listed", $"entities[{i}]");
            }
        }
    }

    protected override IChainPolicy Create(PiiDetectorOptions options, PolicyConfig config, PolicyServices services) =>
        new PiiDetectorPolicy(options);

    internal static string Placeholder(string format, PiiEntityType type) =>
        format.Replace(PiiDetectorOptions.TypeToken, PiiEntityTypeNames.ToCanonicalName(type), StringComparison.Ordinal);
}
