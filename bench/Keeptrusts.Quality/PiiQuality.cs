using System.Globalization;
using System.Text.Json;
using Keeptrusts.Policy.Detection.Pii;

namespace Keeptrusts.Quality;

/// <summary>
/// Scores the PII scanner on pii-dev.jsonl and secrets-dev.jsonl. A prediction is a true positive when it
/// overlaps an expected span of the same entity type. Only the row's own entity type is scored (a row
/// about e-mails that also holds an IP address is not penalised for finding the IP), and expected spans the
/// source marks weak are optional: found or missed, they count neither way. A secrets row counts as flagged
/// when the scanner reports at least one SECRET.
/// </summary>
internal static class PiiQuality
{
    public static void Write(string corporaDirectory, TextWriter output)
    {
        var scanner = new PiiScanner(new PiiScannerOptions());
        WritePii(scanner, Path.Combine(corporaDirectory, "pii-dev.jsonl"), output);
        output.WriteLine();
        WriteSecrets(scanner, Path.Combine(corporaDirectory, "secrets-dev.jsonl"), output);
    }

    /// <summary>Prints what the scanner finds in each input line (type, subtype and matched text).</summary>
    public static int ScanLines(TextReader input, TextWriter output)
    {
        var scanner = new PiiScanner(new PiiScannerOptions());
        var matches = new List<PiiMatch>();
        while (input.ReadLine() is { } line)
        {
            matches.Clear();
            scanner.Scan(line, matches);
            output.WriteLine($"{line} => {string.Join("; ", matches.Select(m => $"{m.Type}/{m.Subtype} '{line.Substring(m.Start, m.Length)}'"))}");
        }

        return 0;
    }

    private sealed class Tally
    {
        public int Rows;
        public int Expected;
        public int TruePositives;
        public int FalsePositives;
        public int FalseNegatives;
    }

    private static void WritePii(PiiScanner scanner, string path, TextWriter output)
    {
        var tallies = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        var matches = new List<PiiMatch>();
        foreach (var root in JsonLines.Read(path))
        {
            var text = root.GetProperty("text").GetString() ?? "";
            var entityName = root.GetProperty("entity_type").GetString() ?? "";
            if (!PiiEntityTypeNames.TryParse(entityName, out var entity))
            {
                continue;
            }

            var (spans, weak) = ReadSpans(root);
            matches.Clear();
            scanner.Scan(text, matches);
            var predicted = matches.Where(m => m.Type == entity).ToList();

            if (!tallies.TryGetValue(entityName, out var tally))
            {
                tallies[entityName] = tally = new Tally();
            }

            tally.Rows++;
            for (var i = 0; i < spans.Count; i++)
            {
                var found = predicted.Any(m => Overlaps(m, spans[i]));
                if (!weak[i])
                {
                    tally.Expected++;
                }

                if (found)
                {
                    tally.TruePositives += weak[i] ? 0 : 1;
                }
                else if (!weak[i])
                {
                    tally.FalseNegatives++;
                }
            }

            tally.FalsePositives += predicted.Count(m => !spans.Any(s => Overlaps(m, s)));
        }

        output.WriteLine("### PII detection (pii-dev.jsonl, span overlap, row entity type only)");
        output.WriteLine();
        output.WriteLine("| entity type | rows | expected spans | TP | FP | FN | precision | recall |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var total = new Tally();
        foreach (var (name, t) in tallies)
        {
            WriteRow(output, name, t);
            total.Rows += t.Rows;
            total.Expected += t.Expected;
            total.TruePositives += t.TruePositives;
            total.FalsePositives += t.FalsePositives;
            total.FalseNegatives += t.FalseNegatives;
        }

        WriteRow(output, "**all**", total);
    }

    private static void WriteRow(TextWriter output, string name, Tally t) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {t.Rows} | {t.Expected} | {t.TruePositives} | {t.FalsePositives} | {t.FalseNegatives} | {Ratio(t.TruePositives, t.TruePositives + t.FalsePositives)} | {Ratio(t.TruePositives, t.TruePositives + t.FalseNegatives)} |"));

    private static string Ratio(int numerator, int denominator) =>
        denominator == 0 ? "n/a" : ((double)numerator / denominator).ToString("0.000", CultureInfo.InvariantCulture);

    private static bool Overlaps(PiiMatch match, (int Start, int End) span) => match.Start < span.End && span.Start < match.End;

    // "weak_spans" is either true (every span weak) or a list of indices of weak spans.
    private static (List<(int Start, int End)> Spans, List<bool> Weak) ReadSpans(JsonElement root)
    {
        var spans = new List<(int, int)>();
        if (root.TryGetProperty("spans", out var spansElement) && spansElement.ValueKind == JsonValueKind.Array)
        {
            foreach (var span in spansElement.EnumerateArray())
            {
                spans.Add((span[0].GetInt32(), span[1].GetInt32()));
            }
        }

        var weak = spans.Select(_ => false).ToList();
        if (root.TryGetProperty("weak_spans", out var weakElement))
        {
            if (weakElement.ValueKind == JsonValueKind.True)
            {
                weak = spans.Select(_ => true).ToList();
            }
            else if (weakElement.ValueKind == JsonValueKind.Array)
            {
                foreach (var index in weakElement.EnumerateArray())
                {
                    var i = index.GetInt32();
                    if (i >= 0 && i < weak.Count)
                    {
                        weak[i] = true;
                    }
                }
            }
        }

        return (spans, weak);
    }

    private static void WriteSecrets(PiiScanner scanner, string path, TextWriter output)
    {
        var byType = new SortedDictionary<string, (int Rows, int Correct, int Tp, int Fp, int Fn)>(StringComparer.Ordinal);
        var matches = new List<PiiMatch>();
        foreach (var root in JsonLines.Read(path))
        {
            var text = root.GetProperty("text").GetString() ?? "";
            var kind = root.GetProperty("secret_type").GetString() ?? "";
            var shouldFlag = root.GetProperty("should_flag").GetBoolean();
            matches.Clear();
            scanner.Scan(text, matches);
            var flagged = matches.Any(m => m.Type == PiiEntityType.Secret);
            var (rows, correct, tp, fp, fn) = byType.GetValueOrDefault(kind);
            byType[kind] = (rows + 1, correct + (flagged == shouldFlag ? 1 : 0), tp + (flagged && shouldFlag ? 1 : 0), fp + (flagged && !shouldFlag ? 1 : 0), fn + (!flagged && shouldFlag ? 1 : 0));
        }

        output.WriteLine("### Secret detection (secrets-dev.jsonl, row flagged = at least one SECRET match)");
        output.WriteLine();
        output.WriteLine("| secret type | rows | flagged correctly | TP | FP | FN | precision | recall |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var all = (Rows: 0, Correct: 0, Tp: 0, Fp: 0, Fn: 0);
        foreach (var (kind, t) in byType)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kind} | {t.Rows} | {t.Correct} | {t.Tp} | {t.Fp} | {t.Fn} | {Ratio(t.Tp, t.Tp + t.Fp)} | {Ratio(t.Tp, t.Tp + t.Fn)} |"));
            all = (all.Rows + t.Rows, all.Correct + t.Correct, all.Tp + t.Tp, all.Fp + t.Fp, all.Fn + t.Fn);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| **all** | {all.Rows} | {all.Correct} | {all.Tp} | {all.Fp} | {all.Fn} | {Ratio(all.Tp, all.Tp + all.Fp)} | {Ratio(all.Tp, all.Tp + all.Fn)} |"));
    }
}
