using System.Text;
using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Detection.Pii;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// Scans prompts of realistic English for every entity type. Clean prompts hold no PII (but do hold numbers,
/// hyphens and colons, which wake the detectors); dirty prompts have a few e-mails, cards and keys sprinkled in.
/// </summary>
[MemoryDiagnoser]
public class PiiScannerBenchmarks
{
    private static readonly string[] Words =
    [
        "the", "a", "model", "should", "summarise", "customer", "feedback", "and", "report", "on", "quarterly", "growth",
        "please", "write", "an", "email", "to", "our", "team", "about", "release", "schedule", "with", "three", "bullet",
        "points", "for", "each", "risk", "in", "plain", "language", "while", "keeping", "tone", "friendly", "but", "concise",
        "data", "pipeline", "latency", "improved", "after", "we", "moved", "cache", "closer", "users", "translate", "this",
        "paragraph", "into", "French", "explain", "why", "well-known", "trade-offs", "matter", "when", "choosing", "database",
    ];

    private static readonly string[] Sprinkles =
    [
        "contact jane.doe@example.org", "card 4111 1111 1111 1111", "token ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM",
        "call +44 20 7946 0958", "server 10.20.30.40", "password=Tr0ub4dor&3x", "AKIAGI3MNBQNSPUQ2IDW",
    ];

    private readonly List<PiiMatch> _results = new(64);
    private PiiScanner _scanner = null!;
    private string _clean = "";
    private string _dirty = "";

    [Params(1024, 4096, 32768)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scanner = new PiiScanner(new PiiScannerOptions());
        _clean = Prose(Size, dirty: false);
        _dirty = Prose(Size, dirty: true);
        if (Clean() != 0 || Dirty() == 0)
        {
            throw new InvalidOperationException($"Benchmark input is wrong: clean {Clean()} findings, dirty {Dirty()}.");
        }
    }

    [Benchmark(Baseline = true)]
    public int Clean()
    {
        _results.Clear();
        _scanner.Scan(_clean, _results);
        return _results.Count;
    }

    [Benchmark]
    public int Dirty()
    {
        _results.Clear();
        _scanner.Scan(_dirty, _results);
        return _results.Count;
    }

    private static string Prose(int length, bool dirty)
    {
        var random = new Random(42);
        var builder = new StringBuilder(length + 128);
        var nextSprinkle = 300;
        var sprinkle = 0;
        while (builder.Length < length)
        {
            var sentenceWords = random.Next(8, 20);
            for (var i = 0; i < sentenceWords; i++)
            {
                var word = Words[random.Next(Words.Length)];
                builder.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
                builder.Append(random.Next(25) switch
                {
                    0 => ", ",
                    1 => $" {random.Next(2, 99)} ",
                    2 => ": ",
                    _ => " ",
                });
            }

            builder.Length--;
            builder.Append(". ");
            if (dirty && builder.Length >= nextSprinkle)
            {
                builder.Append("Also ").Append(Sprinkles[sprinkle++ % Sprinkles.Length]).Append(". ");
                nextSprinkle += 700;
            }
        }

        return builder.ToString(0, length);
    }
}
