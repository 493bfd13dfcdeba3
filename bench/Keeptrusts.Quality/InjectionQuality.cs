using System.Globalization;
using System.Text.Json;
using Keeptrusts.Policy.Detection.Injection;

namespace Keeptrusts.Quality;

/// <summary>
/// Measures the prompt-injection detector on injection-dev.jsonl: precision, recall, F1 and the false-positive
/// rate on benign rows, overall and per source repository and subset. Set KT_QUALITY_VERBOSE=1 to also list the
/// ids of misclassified rows (ids only; corpus text stays out of the output).
/// </summary>
internal static class InjectionQuality
{
    private const string CorpusFile = "injection-dev.jsonl";

    public static void Write(string corporaDirectory, TextWriter output)
    {
        var path = Path.Combine(corporaDirectory, CorpusFile);
        if (!File.Exists(path))
        {
            output.WriteLine($"(InjectionQuality: {CorpusFile} not found in {corporaDirectory})");
            return;
        }

        var detector = new InjectionDetector();
        var rows = Load(path).Select(r => r with { Score = detector.Assess(r.Text).Score }).ToList();
        var threshold = detector.Threshold;

        output.WriteLine($"## Prompt injection ({CorpusFile}, {rows.Count} rows, threshold {threshold.ToString("0.00", CultureInfo.InvariantCulture)})");
        output.WriteLine();
        output.WriteLine("| slice | rows | injections | benign | TP | FP | FN | precision | recall | F1 | benign FPR |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        WriteRow(output, "**overall**", rows, threshold);
        output.WriteLine();

        output.WriteLine("### By source repository");
        output.WriteLine();
        output.WriteLine("| source | rows | injections | benign | TP | FP | FN | precision | recall | F1 | benign FPR |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var group in rows.GroupBy(static r => Repository(r.Source)).OrderBy(static g => g.Key, StringComparer.Ordinal))
        {
            WriteRow(output, group.Key, [.. group], threshold);
        }

        output.WriteLine();
        output.WriteLine("### By subset");
        output.WriteLine();
        output.WriteLine("| subset | rows | injections | benign | TP | FP | FN | precision | recall | F1 | benign FPR |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var group in rows.GroupBy(r => SubsetKey(r, rows)).OrderBy(static g => g.Key, StringComparer.Ordinal))
        {
            WriteRow(output, group.Key, [.. group], threshold);
        }

        output.WriteLine();
        output.WriteLine("### Threshold sweep (overall)");
        output.WriteLine();
        output.WriteLine("| threshold | precision | recall | F1 | benign FPR |");
        output.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var t in new[] { 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7 })
        {
            var m = Metrics.Of(rows, t);
            output.WriteLine($"| {F(t)} | {F(m.Precision)} | {F(m.Recall)} | {F(m.F1)} | {F(m.Fpr)} |");
        }

        if (Environment.GetEnvironmentVariable("KT_QUALITY_VERBOSE") == "1")
        {
            output.WriteLine();
            output.WriteLine("### Misclassified rows");
            output.WriteLine();
            foreach (var r in rows.Where(r => (r.Score >= threshold) != r.IsInjection).OrderBy(static r => r.Id, StringComparer.Ordinal))
            {
                output.WriteLine($"- {r.Id} {(r.IsInjection ? "FN" : "FP")} score={F(r.Score)} {r.Subset}");
            }
        }
    }

    private static void WriteRow(TextWriter output, string name, IReadOnlyList<Row> rows, double threshold)
    {
        var m = Metrics.Of(rows, threshold);
        output.WriteLine($"| {name} | {rows.Count} | {m.Positives} | {m.Negatives} | {m.Tp} | {m.Fp} | {m.Fn} | {F(m.Precision)} | {F(m.Recall)} | {F(m.F1)} | {F(m.Fpr)} |");
    }

    private static string F(double value) => double.IsNaN(value) ? "–" : value.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Repository(string source)
    {
        var at = source.IndexOf('@', StringComparison.Ordinal);
        return at > 0 ? source[..at] : source;
    }

    // Subsets with a single row (one per persona in awesome-chatgpt-prompts) say nothing alone; fold them into their family.
    private static string SubsetKey(Row row, IReadOnlyList<Row> all)
    {
        var count = all.Count(r => r.Subset == row.Subset);
        if (count >= 3)
        {
            return row.Subset;
        }

        var slash = row.Subset.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? row.Subset[..slash] + "/*" : row.Subset;
    }

    private static IEnumerable<Row> Load(string path)
    {
        foreach (var root in JsonLines.Read(path))
        {
            yield return new Row(
                root.GetProperty("id").GetString() ?? "",
                root.GetProperty("text").GetString() ?? "",
                root.GetProperty("label").GetString() == "injection",
                root.GetProperty("source").GetString() ?? "",
                root.GetProperty("subset").GetString() ?? "",
                0);
        }
    }

    private sealed record Row(string Id, string Text, bool IsInjection, string Source, string Subset, double Score);

    private readonly record struct Metrics(int Tp, int Fp, int Fn, int Tn)
    {
        public int Positives => Tp + Fn;

        public int Negatives => Fp + Tn;

        public double Precision => Tp + Fp == 0 ? double.NaN : (double)Tp / (Tp + Fp);

        public double Recall => Tp + Fn == 0 ? double.NaN : (double)Tp / (Tp + Fn);

        public double F1 => Tp == 0 ? (Positives == 0 ? double.NaN : 0) : 2.0 * Precision * Recall / (Precision + Recall);

        public double Fpr => Fp + Tn == 0 ? double.NaN : (double)Fp / (Fp + Tn);

        public static Metrics Of(IEnumerable<Row> rows, double threshold)
        {
            int tp = 0, fp = 0, fn = 0, tn = 0;
            foreach (var r in rows)
            {
                var flagged = r.Score >= threshold;
                if (r.IsInjection)
                {
                    if (flagged) { tp++; } else { fn++; }
                }
                else
                {
                    if (flagged) { fp++; } else { tn++; }
                }
            }

            return new Metrics(tp, fp, fn, tn);
        }
    }
}
