using System.Text.Json;
using Keeptrusts.Policy.Detection.Pii;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

/// <summary>
/// Regression floors on the shared development corpora. Scoring is by span overlap with an expected span of
/// the same entity type; weak expected spans are optional. Only each row's own entity type is scored: a row
/// written to test e-mails may contain an IP address, and finding it is right, not a false positive.
/// </summary>
public class PiiCorpusTests
{
    private static readonly PiiScanner Scanner = new(new PiiScannerOptions());

    public static TheoryData<string, double, double> Floors => new()
    {
        { "CREDIT_CARD", 0.97, 0.97 },
        { "EMAIL_ADDRESS", 0.97, 0.97 },
        { "PHONE_NUMBER", 0.9, 0.9 },
        { "US_SSN", 0.97, 0.97 },
        { "IBAN_CODE", 0.97, 0.97 },
        { "IP_ADDRESS", 0.97, 0.97 },
        { "CRYPTO", 0.97, 0.97 },
    };

    [Theory]
    [MemberData(nameof(Floors))]
    public void Pii_precision_and_recall_stay_above_floor(string entity, double minPrecision, double minRecall)
    {
        Assert.True(PiiEntityTypeNames.TryParse(entity, out var type));
        int tp = 0, fp = 0, fn = 0;
        foreach (var row in ReadRows("pii-dev.jsonl"))
        {
            if (row.GetProperty("entity_type").GetString() != entity)
            {
                continue;
            }

            var text = row.GetProperty("text").GetString()!;
            var expected = ReadSpans(row);
            var predicted = Matches(text).Where(m => m.Type == type).ToList();
            foreach (var (start, end, weak) in expected)
            {
                var hit = predicted.Any(m => m.Start < end && start < m.End);
                tp += hit && !weak ? 1 : 0;
                fn += !hit && !weak ? 1 : 0;
            }

            fp += predicted.Count(m => !expected.Any(s => m.Start < s.End && s.Start < m.End));
        }

        var precision = tp + fp == 0 ? 1 : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? 1 : (double)tp / (tp + fn);
        Assert.True(tp + fn > 0, $"{entity}: no scored rows");
        Assert.True(precision >= minPrecision, $"{entity}: precision {precision:0.000} < {minPrecision} (tp {tp}, fp {fp})");
        Assert.True(recall >= minRecall, $"{entity}: recall {recall:0.000} < {minRecall} (tp {tp}, fn {fn})");
    }

    [Fact]
    public void Secret_precision_and_recall_stay_above_floor()
    {
        int tp = 0, fp = 0, fn = 0;
        foreach (var row in ReadRows("secrets-dev.jsonl"))
        {
            var flagged = Matches(row.GetProperty("text").GetString()!).Any(m => m.Type == PiiEntityType.Secret);
            var shouldFlag = row.GetProperty("should_flag").GetBoolean();
            tp += flagged && shouldFlag ? 1 : 0;
            fp += flagged && !shouldFlag ? 1 : 0;
            fn += !flagged && shouldFlag ? 1 : 0;
        }

        var precision = (double)tp / (tp + fp);
        var recall = (double)tp / (tp + fn);
        Assert.True(precision >= 0.88, $"secrets: precision {precision:0.000} (tp {tp}, fp {fp})");
        Assert.True(recall >= 0.95, $"secrets: recall {recall:0.000} (tp {tp}, fn {fn})");
    }

    private static List<PiiMatch> Matches(string text)
    {
        var results = new List<PiiMatch>();
        Scanner.Scan(text, results);
        return results;
    }

    private static List<(int Start, int End, bool Weak)> ReadSpans(JsonElement row)
    {
        var spans = new List<(int Start, int End, bool Weak)>();
        if (row.TryGetProperty("spans", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var span in list.EnumerateArray())
            {
                spans.Add((span[0].GetInt32(), span[1].GetInt32(), false));
            }
        }

        // weak_spans is either true (all weak) or the indices of the weak spans.
        if (row.TryGetProperty("weak_spans", out var weak))
        {
            for (var i = 0; i < spans.Count; i++)
            {
                var isWeak = weak.ValueKind == JsonValueKind.True
                    || (weak.ValueKind == JsonValueKind.Array && weak.EnumerateArray().Any(w => w.GetInt32() == i));
                spans[i] = spans[i] with { Weak = isWeak };
            }
        }

        return spans;
    }

    private static IEnumerable<JsonElement> ReadRows(string file)
    {
        foreach (var line in File.ReadLines(Path.Combine(Corpora.Directory, file)))
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return JsonDocument.Parse(line).RootElement.Clone();
            }
        }
    }
}
