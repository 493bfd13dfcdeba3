using System.Text;
using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// The enforcement cost a caller pays per prompt: pii-detector + prompt-injection + content-filter through the
/// public engine, on realistic English prompts, clean and with a few findings. Decision records are produced but go
/// to no sink.
/// </summary>
[MemoryDiagnoser]
public class PolicyChainBenchmarks
{
    private const string Config = """
        pack: {name: bench, version: 1.0.0}
        policies:
          chain: [pii-detector, prompt-injection, content-filter]
        policy:
          pii-detector: {action: redact}
          prompt-injection: {action: block}
          content-filter:
            input:
              deny_keywords: [confidential, internal only, do not distribute, project falcon, acquisition target]
              deny_patterns: ["\\bPRJ-\\d{4}\\b"]
        """;

    private static readonly string[] Sentences =
    [
        "Please summarise the quarterly report for the leadership team in three bullet points. ",
        "The data pipeline latency improved after we moved the cache closer to our users. ",
        "Write a friendly email to the team about the release schedule for next week. ",
        "Explain the trade-offs between a relational database and a document store for this workload. ",
        "Translate the following paragraph into French while keeping the tone concise. ",
        "Our customers asked for better onboarding, clearer pricing and faster support responses. ",
    ];

    private PolicyEngine _engine = null!;
    private string _clean = "";
    private string _dirty = "";

    [Params(1024, 4096, 32768)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var loaded = PolicyConfigLoader.Parse(Config);
        _engine = PolicyEngine.Create(loaded.Config ?? throw new InvalidOperationException(string.Join("\n", loaded.Diagnostics)));
        _clean = Prose(Size, dirty: false);
        _dirty = Prose(Size, dirty: true);
        if (Clean() != PolicyDecision.Allow || Dirty() != PolicyDecision.Redact)
        {
            throw new InvalidOperationException($"Benchmark input is wrong: clean {Clean()}, dirty {Dirty()}.");
        }
    }

    [Benchmark(Baseline = true)]
    public PolicyDecision Clean() => _engine.EvaluateTextAsync(_clean).AsTask().GetAwaiter().GetResult().Decision;

    [Benchmark]
    public PolicyDecision Dirty() => _engine.EvaluateTextAsync(_dirty).AsTask().GetAwaiter().GetResult().Decision;

    private static string Prose(int length, bool dirty)
    {
        var builder = new StringBuilder(length + 128);
        for (var i = 0; builder.Length < length; i++)
        {
            builder.Append(Sentences[i % Sentences.Length]);
            if (dirty && i % 12 == 5)
            {
                builder.Append("Contact jane.doe@example.org or card 4111 1111 1111 1111. ");
            }
        }

        return builder.ToString(0, length);
    }
}
