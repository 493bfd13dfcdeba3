using Keeptrusts.Policy.Detection.Pii;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.PiiDetector;

/// <summary>
/// Scans every text of the exchange — all roles, tool calls and tool results on the way in, the answer on the way
/// out — and redacts each finding with a typed placeholder, blocks, or only records, as configured.
/// </summary>
internal sealed class PiiDetectorPolicy(PiiDetectorOptions options) : IChainPolicy
{
    [ThreadStatic]
    private static List<PiiMatch>? t_matches;

    private readonly PiiScanner _scanner = new(PiiDetectorDefinition.ScannerOptions(options));
    private readonly string[] _placeholders = BuildPlaceholders(options.RedactionFormat);
    private readonly bool _input = options.Phases.Contains(PolicyPhase.Input);
    private readonly bool _output = options.Phases.Contains(PolicyPhase.Output);

    public string Id => PolicyCatalog.PiiDetector;

    public bool AppliesTo(PolicyPhase phase) => phase == PolicyPhase.Input ? _input : _output;

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var matches = t_matches ??= new List<PiiMatch>(16);
        List<PolicyFinding>? findings = null;
        List<TextEdit>? edits = null;
        for (var t = 0; t < context.Texts.Count; t++)
        {
            matches.Clear();
            _scanner.Scan(context.Texts[t], matches);
            foreach (var match in matches)
            {
                (findings ??= []).Add(new PolicyFinding(Id, PiiEntityTypeNames.ToCanonicalName(match.Type))
                {
                    Text = t,
                    Start = match.Start,
                    End = match.End,
                    Score = match.Score,
                    Detail = match.Subtype,
                });
                if (options.Action == PiiAction.Redact)
                {
                    (edits ??= []).Add(new TextEdit(t, match.Start, match.Length, _placeholders[SingleBit(match.Type)]));
                }
            }
        }

        matches.Clear();
        if (findings is null)
        {
            return ValueTask.FromResult(PolicyVerdict.Allowed);
        }

        var reason = Describe(findings, context.Phase);
        return ValueTask.FromResult(options.Action switch
        {
            PiiAction.Redact => PolicyVerdict.Redact(reason, findings, edits!),
            PiiAction.Block => PolicyVerdict.Block(reason, "pii_detected", findings),
            _ => PolicyVerdict.Flag(reason, findings),
        });
    }

    private static string Describe(List<PolicyFinding> findings, PolicyPhase phase)
    {
        var types = findings.Select(static f => f.Type).Distinct(StringComparer.Ordinal);
        return $"{(phase == PolicyPhase.Input ? "the request" : "the response")} contains {string.Join(", ", types)} ({findings.Count} finding{(findings.Count == 1 ? "" : "s")})";
    }

    private static string[] BuildPlaceholders(string format)
    {
        var placeholders = new string[32];
        foreach (var type in PiiEntityTypeNames.SingleTypes)
        {
            placeholders[SingleBit(type)] = PiiDetectorDefinition.Placeholder(format, type);
        }

        return placeholders;
    }

    private static int SingleBit(PiiEntityType type) => System.Numerics.BitOperations.TrailingZeroCount((uint)type);
}
