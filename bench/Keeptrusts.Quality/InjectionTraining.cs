using System.Globalization;
using Keeptrusts.Policy.Detection.Injection;

namespace Keeptrusts.Quality;

/// <summary>
/// Trains the learned injection scorer (<see cref="InjectionModel"/>) and measures how it generalises.
/// Deterministic: a fixed seed orders the examples, so the same corpora always give the same weights.
/// </summary>
/// <remarks>
/// The model is logistic regression over <see cref="InjectionFeatures"/> (feature counts divided by the square root
/// of the text's feature count), fitted by AdaGrad with L2 regularisation and class-balanced example weights. Its
/// threshold is chosen on out-of-fold scores (5 folds) of the training rows, combined with the rules exactly as the
/// detector combines them: the highest F1 whose benign false-positive rate stays at or under
/// <see cref="TargetFalsePositiveRate"/>.
/// </remarks>
internal static class InjectionTraining
{
    /// <summary>
    /// The out-of-fold benign false-positive rate the threshold is tuned for: a quarter of the 2% aim, because a
    /// false-positive rate measured on sources the model has seen understates the rate on sources it has not
    /// (the leave-one-source-out table showed 5–7% out of source when tuning to 1–1.5% in source).
    /// </summary>
    public const double TargetFalsePositiveRate = 0.005;

    // Chosen once from a small grid (L2 1e-4..1e-1, 10..60 epochs) by the leave-one-source-out table; strong L2 is what
    // keeps the model from learning the trigger words of one source's benign rows as injection evidence.
    private const int Epochs = 30;
    private const double LearningRate = 0.5;
    private const double L2 = 1e-2;
    private const int Seed = 20261203;
    private const int InnerFolds = 5;

    /// <summary>One training example: sparse features, label, source and the rules' score.</summary>
    public sealed record Example(string Id, string Normalized, int[] Buckets, float[] Values, bool IsInjection, string Source, string Subset, double RuleScore);

    /// <summary>Featurises texts and scores them with the rules alone.</summary>
    public static List<Example> Prepare(IEnumerable<(string Id, string Text, bool IsInjection, string Source, string Subset)> rows)
    {
        var rules = new InjectionDetector(new InjectionDetectorOptions { Model = null });
        var result = new List<Example>();
        foreach (var (id, text, isInjection, source, subset) in rows)
        {
            var buffer = new char[text.Length];
            var written = InjectionTextNormalizer.Normalize(text, buffer, out _);
            var sink = new CountingSink { Counts = new SortedDictionary<int, int>() };
            var total = InjectionFeatures.Extract(buffer.AsSpan(0, written), ref sink);
            var norm = total == 0 ? 1f : (float)(1 / Math.Sqrt(total));
            result.Add(new Example(
                id,
                new string(buffer, 0, written),
                [.. sink.Counts.Keys],
                [.. sink.Counts.Values.Select(v => v * norm)],
                isInjection,
                source,
                subset,
                rules.Assess(text).Score));
        }

        return result;
    }

    /// <summary>Fits a model on <paramref name="examples"/> and tunes its threshold on out-of-fold scores.</summary>
    public static InjectionModel Fit(IReadOnlyList<Example> examples)
    {
        var ordered = Shuffle(examples);
        var outOfFold = new double[ordered.Count];
        for (var fold = 0; fold < InnerFolds; fold++)
        {
            var train = ordered.Where((_, i) => i % InnerFolds != fold).ToList();
            var model = Quantize(Train(train), threshold: 0.75f); // only its probabilities are used
            for (var i = fold; i < ordered.Count; i += InnerFolds)
            {
                outOfFold[i] = model.Probability(ordered[i].Normalized);
            }
        }

        var threshold = TuneThreshold(ordered, outOfFold);
        return Quantize(Train(ordered), (float)threshold);
    }

    /// <summary>The probability a model gives one prepared example (same arithmetic as the shipped scorer).</summary>
    public static double Probability(InjectionModel model, Example example)
    {
        double sum = 0;
        for (var k = 0; k < example.Buckets.Length; k++)
        {
            sum += model.WeightAt(example.Buckets[k]) * example.Values[k];
        }

        var z = model.Bias + (model.Scale * sum);
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>
    /// The detector's score for an example: the rules' score combined with the model's evidence, the model scored
    /// exactly as the detector scores it (windows included).
    /// </summary>
    public static double Combined(InjectionModel model, Example example) =>
        InjectionModel.Combine(example.RuleScore, InjectionModel.Evidence(model.Probability(example.Normalized), model.Threshold));

    private static double TuneThreshold(IReadOnlyList<Example> examples, double[] probabilities)
    {
        var best = (Threshold: 0.95, F1: -1.0);
        for (var t = 0.51; t <= 0.951; t += 0.01)
        {
            int tp = 0, fp = 0, fn = 0, tn = 0;
            for (var i = 0; i < examples.Count; i++)
            {
                var score = InjectionModel.Combine(examples[i].RuleScore, InjectionModel.Evidence(probabilities[i], t));
                var flagged = score >= InjectionDetectorOptions.DefaultThreshold;
                if (examples[i].IsInjection)
                {
                    if (flagged) { tp++; } else { fn++; }
                }
                else if (flagged) { fp++; } else { tn++; }
            }

            var fpr = fp + tn == 0 ? 0 : (double)fp / (fp + tn);
            var f1 = tp == 0 ? 0 : 2.0 * tp / ((2.0 * tp) + fp + fn);
            if (fpr <= TargetFalsePositiveRate && f1 > best.F1 + 1e-9)
            {
                best = (t, f1);
            }
        }

        return Math.Round(best.Threshold, 2);
    }

    private static List<Example> Shuffle(IReadOnlyList<Example> examples)
    {
        var list = examples.OrderBy(static e => e.Id, StringComparer.Ordinal).ToList();
        var random = new Random(Seed);
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }

    private static (double[] Weights, double Bias) Train(IReadOnlyList<Example> examples)
    {
        var weights = new double[InjectionFeatures.BucketCount];
        var squares = new double[InjectionFeatures.BucketCount];
        double bias = 0, biasSquares = 0;
        var positives = examples.Count(static e => e.IsInjection);
        var negatives = examples.Count - positives;
        var positiveWeight = positives == 0 ? 1 : examples.Count / (2.0 * positives);
        var negativeWeight = negatives == 0 ? 1 : examples.Count / (2.0 * negatives);
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = new Random(Seed);
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            random.Shuffle(order);
            foreach (var index in order)
            {
                var e = examples[index];
                var z = bias;
                for (var k = 0; k < e.Buckets.Length; k++)
                {
                    z += weights[e.Buckets[k]] * e.Values[k];
                }

                var p = 1 / (1 + Math.Exp(-z));
                var gradient = (p - (e.IsInjection ? 1 : 0)) * (e.IsInjection ? positiveWeight : negativeWeight);
                for (var k = 0; k < e.Buckets.Length; k++)
                {
                    var b = e.Buckets[k];
                    var g = (gradient * e.Values[k]) + (L2 * weights[b]);
                    squares[b] += g * g;
                    weights[b] -= LearningRate * g / (Math.Sqrt(squares[b]) + 1e-8);
                }

                biasSquares += gradient * gradient;
                bias -= LearningRate * gradient / (Math.Sqrt(biasSquares) + 1e-8);
            }
        }

        return (weights, bias);
    }

    private static InjectionModel Quantize((double[] Weights, double Bias) fitted, float threshold)
    {
        var max = fitted.Weights.Max(static w => Math.Abs(w));
        var scale = max == 0 ? 1f : (float)(max / 127);
        var quantized = new sbyte[fitted.Weights.Length];
        for (var i = 0; i < quantized.Length; i++)
        {
            quantized[i] = (sbyte)Math.Clamp(Math.Round(fitted.Weights[i] / scale), -127, 127);
        }

        return new InjectionModel(quantized, scale, (float)fitted.Bias, threshold);
    }

    private struct CountingSink : IInjectionFeatureSink
    {
        public SortedDictionary<int, int> Counts;

        public void Add(int bucket) => Counts[bucket] = Counts.GetValueOrDefault(bucket) + 1;
    }

    /// <summary>Formats a ratio for the tables.</summary>
    public static string F(double value) => double.IsNaN(value) ? "–" : value.ToString("0.000", CultureInfo.InvariantCulture);
}
