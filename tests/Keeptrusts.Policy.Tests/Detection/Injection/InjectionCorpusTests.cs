using System.Text.Json;
using Keeptrusts.Policy.Detection.Injection;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Detection.Injection;

/// <summary>
/// Regression floors on the shared development corpus. The learned scorer is trained on these rows, so in-sample
/// figures (F1 0.996, one false positive in 160 benign rows) are an upper bound; the honest measure is the
/// leave-one-source-out table in docs/policy-quality.md (F1 0.941, benign FPR 1.3%). The floors sit just under
/// the in-sample figures; lowering them needs a reason in the change description.
/// </summary>
public class InjectionCorpusTests
{
    private const double MinF1 = 0.98;
    private const double MinPrecision = 0.98;
    private const double MinRecall = 0.98;
    private const double MaxBenignFalsePositiveRate = 0.01;

    [Fact]
    public void Development_corpus_meets_the_quality_floors()
    {
        var path = Path.Combine(Corpora.Directory, "injection-dev.jsonl");
        var detector = new InjectionDetector();
        int tp = 0, fp = 0, fn = 0, tn = 0;

        foreach (var line in File.ReadLines(path).Where(static l => !string.IsNullOrWhiteSpace(l)))
        {
            using var row = JsonDocument.Parse(line);
            var text = row.RootElement.GetProperty("text").GetString() ?? "";
            var isInjection = row.RootElement.GetProperty("label").GetString() == "injection";
            var flagged = detector.IsInjection(detector.Assess(text));
            _ = (isInjection, flagged) switch
            {
                (true, true) => tp++,
                (true, false) => fn++,
                (false, true) => fp++,
                (false, false) => tn++,
            };
        }

        var precision = (double)tp / (tp + fp);
        var recall = (double)tp / (tp + fn);
        var f1 = 2 * precision * recall / (precision + recall);
        var fpr = (double)fp / (fp + tn);
        var summary = $"tp={tp} fp={fp} fn={fn} tn={tn} precision={precision:F3} recall={recall:F3} f1={f1:F3} fpr={fpr:F3}";

        Assert.True(tp + fn > 100 && fp + tn > 100, "corpus looks truncated: " + summary);
        Assert.True(f1 >= MinF1, summary);
        Assert.True(precision >= MinPrecision, summary);
        Assert.True(recall >= MinRecall, summary);
        Assert.True(fpr <= MaxBenignFalsePositiveRate, summary);
    }
}
