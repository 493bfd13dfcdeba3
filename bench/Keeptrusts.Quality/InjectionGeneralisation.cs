using Keeptrusts.Policy.Detection.Injection;
using static Keeptrusts.Quality.InjectionTraining;

namespace Keeptrusts.Quality;

/// <summary>
/// The two commands around the learned scorer: <c>train</c> fits it on every corpus row plus the hand-written rows
/// and writes the embedded resource; <c>loso</c> measures generalisation by leaving one source repository out at a
/// time — training and tuning on the others, scoring the one left out — and prints the table for
/// docs/policy-quality.md.
/// </summary>
internal static class InjectionGeneralisation
{
    private const string CorpusFile = "injection-dev.jsonl";
    private const string HandWrittenFile = "Training/injection-handwritten.jsonl";

    public static int Train(string corporaDirectory, string outputPath, TextWriter output)
    {
        var examples = Prepare(LoadCorpus(corporaDirectory).Concat(LoadHandWritten()));
        var model = Fit(examples);
        using (var stream = File.Create(outputPath))
        {
            model.Write(stream);
        }

        output.WriteLine($"trained on {examples.Count} rows ({examples.Count(static e => e.IsInjection)} injections); model threshold {model.Threshold:0.00}; wrote {outputPath}");
        return 0;
    }

    public static int ScoreLines(TextReader input, TextWriter output)
    {
        var rules = new InjectionDetector(new InjectionDetectorOptions { Model = null });
        var detector = new InjectionDetector();
        var model = InjectionModel.BuiltIn;
        while (input.ReadLine() is { } line)
        {
            var buffer = new char[line.Length];
            var written = InjectionTextNormalizer.Normalize(line, buffer, out _);
            var combined = detector.Assess(line);
            output.WriteLine($"rules={F(rules.Assess(line).Score)} model_p={F(model.Probability(buffer.AsSpan(0, written)))} combined={F(combined.Score)} {combined.Categories} | {(line.Length > 60 ? line[..60] : line)}");
        }

        return 0;
    }

    public static int LeaveOneSourceOut(string corporaDirectory, TextWriter output)
    {
        var corpus = Prepare(LoadCorpus(corporaDirectory));
        var handWritten = Prepare(LoadHandWritten());
        var sources = corpus.Select(static e => e.Source).Distinct().Order(StringComparer.Ordinal).ToList();
        var heldOut = new List<(Example Example, double Score)>();
        var perSource = new List<(string Source, List<(Example, double)> Scored, double Threshold)>();
        foreach (var source in sources)
        {
            var model = Fit([.. corpus.Where(e => e.Source != source), .. handWritten]);
            var scored = corpus.Where(e => e.Source == source).Select(e => (e, Combined(model, e))).ToList();
            heldOut.AddRange(scored);
            perSource.Add((source, scored, model.Threshold));
        }

        output.WriteLine($"## Prompt injection, leave one source out ({CorpusFile}, {corpus.Count} rows, detector threshold 0.50)");
        output.WriteLine();
        output.WriteLine("Each source repository is scored by a model trained and tuned without it (plus the hand-written rows). The rules");
        output.WriteLine("are the same in every fold; they were written before this measurement existed and with the whole dev corpus in view,");
        output.WriteLine("so the rules-only column is not out-of-source in the same strict sense.");
        output.WriteLine();
        output.WriteLine("| held-out source | rows | injections | benign | model threshold | rules only: recall | FPR | rules + model: TP | FP | FN | precision | recall | F1 | benign FPR |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (source, scored, threshold) in perSource)
        {
            WriteRow(output, source, scored, threshold.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture));
        }

        WriteRow(output, "**all held-out**", heldOut, "");
        return 0;
    }

    private static void WriteRow(TextWriter output, string name, IReadOnlyList<(Example Example, double Score)> rows, string threshold)
    {
        var rules = Count(rows.Select(static r => (r.Example.IsInjection, r.Example.RuleScore >= InjectionDetectorOptions.DefaultThreshold)));
        var combined = Count(rows.Select(static r => (r.Example.IsInjection, r.Score >= InjectionDetectorOptions.DefaultThreshold)));
        output.WriteLine(
            $"| {name} | {rows.Count} | {combined.Tp + combined.Fn} | {combined.Fp + combined.Tn} | {threshold} | {F(rules.Recall)} | {F(rules.Fpr)} | "
            + $"{combined.Tp} | {combined.Fp} | {combined.Fn} | {F(combined.Precision)} | {F(combined.Recall)} | {F(combined.F1)} | {F(combined.Fpr)} |");
    }

    private static (int Tp, int Fp, int Fn, int Tn, double Precision, double Recall, double F1, double Fpr) Count(IEnumerable<(bool Truth, bool Flagged)> pairs)
    {
        int tp = 0, fp = 0, fn = 0, tn = 0;
        foreach (var (truth, flagged) in pairs)
        {
            if (truth)
            {
                if (flagged) { tp++; } else { fn++; }
            }
            else if (flagged) { fp++; } else { tn++; }
        }

        var precision = tp + fp == 0 ? double.NaN : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? double.NaN : (double)tp / (tp + fn);
        var f1 = tp + fn == 0 ? double.NaN : tp == 0 ? 0 : 2 * precision * recall / (precision + recall);
        var fpr = fp + tn == 0 ? double.NaN : (double)fp / (fp + tn);
        return (tp, fp, fn, tn, precision, recall, f1, fpr);
    }

    private static IEnumerable<(string, string, bool, string, string)> LoadCorpus(string corporaDirectory) =>
        Load(Path.Combine(corporaDirectory, CorpusFile));

    private static IEnumerable<(string, string, bool, string, string)> LoadHandWritten() =>
        Load(Path.Combine(AppContext.BaseDirectory, HandWrittenFile));

    private static IEnumerable<(string, string, bool, string, string)> Load(string path)
    {
        foreach (var root in JsonLines.Read(path))
        {
            var source = root.GetProperty("source").GetString() ?? "";
            var at = source.IndexOf('@', StringComparison.Ordinal);
            yield return (
                root.GetProperty("id").GetString() ?? "",
                root.GetProperty("text").GetString() ?? "",
                root.GetProperty("label").GetString() == "injection",
                at > 0 ? source[..at] : source,
                root.TryGetProperty("subset", out var subset) ? subset.GetString() ?? "" : "");
        }
    }
}
