using System.Text;
using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies.ContentFilter;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// Cost of content-filter on clean text (the common case: nothing matches) with 20 deny keywords and 3 deny
/// patterns, through the public engine and on the policy alone. Texts are everyday request sentences assembled
/// deterministically.
/// </summary>
[MemoryDiagnoser]
public class ContentFilterBenchmarks
{
    private static readonly string[] Keywords =
    [
        "project falcon", "classified", "top secret", "internal only", "do not distribute", "ransomware", "malware",
        "keylogger", "botnet", "exploit kit", "credential dump", "password dump", "carding", "counterfeit",
        "money laundering", "explosive", "detonator", "nerve agent", "bioweapon", "self-harm",
    ];

    private static readonly string[] Patterns =
    [
        @"\bsk-[A-Za-z0-9]{20,}",
        @"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
        @"-----BEGIN (RSA |EC )?PRIVATE KEY-----",
    ];

    private static readonly string[] Sentences =
    [
        "Can you help me write a short cover letter for a junior developer position at a logistics company?",
        "I have a spreadsheet with quarterly sales figures and I would like a summary of the main trends.",
        "Please explain the difference between a process and a thread, with an example in plain language.",
        "Our team follows a few simple rules for code review, and I want to turn them into a checklist.",
        "What are some healthy dinner recipes that take less than thirty minutes and use seasonal vegetables?",
        "Summarise the following paragraph in two sentences and keep the tone friendly but professional.",
        "How do I ignore build output files in git without deleting the ones that are already committed?",
        "Translate this customer email into Spanish, keeping the product names in English.",
        "Write a polite reminder to a client whose invoice is now thirty days overdue.",
        "Explain how compound interest works and show the calculation for a five year savings plan.",
    ];

    private PolicyEngine _engine = null!;
    private ContentFilterPolicy _policy = null!;
    private PolicyContext _context = null!;
    private string _text = "";

    [Params(1024, 4096, 32768)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _text = Build(Size);
        var yaml = new StringBuilder("pack: {name: bench, version: 1.0.0}\npolicies:\n  chain: [content-filter]\npolicy:\n  content-filter:\n    input:\n      deny_keywords:\n");
        foreach (var keyword in Keywords)
        {
            yaml.Append("        - '").Append(keyword).Append("'\n");
        }

        yaml.Append("      deny_patterns:\n");
        foreach (var pattern in Patterns)
        {
            yaml.Append("        - '").Append(pattern).Append("'\n");
        }

        var loaded = PolicyConfigLoader.Parse(yaml.ToString());
        if (loaded.Config is null || loaded.Diagnostics.Count > 0)
        {
            throw new InvalidOperationException("benchmark configuration does not lint cleanly: " + string.Join("; ", loaded.Diagnostics));
        }

        _engine = PolicyEngine.Create(loaded.Config);
        var rules = new ContentFilterRules { DenyKeywords = Keywords, DenyPatterns = Patterns };
        _policy = new ContentFilterPolicy("content-filter", ContentFilterAction.Block, new ContentRuleSet("input", rules, caseSensitive: false, timeoutMs: 50), null);
        _context = new PolicyContext(PolicyPhase.Input, ChatView.FromUserText(_text), [_text], new RequestContext(), new ExchangeState(), loaded.Config, TimeProvider.System);

        if (Direct() != PolicyDecision.Allow || Engine().GetAwaiter().GetResult() != PolicyDecision.Allow)
        {
            throw new InvalidOperationException("the benchmark text must be clean");
        }
    }

    [Benchmark]
    public async Task<PolicyDecision> Engine() => (await _engine.EvaluateTextAsync(_text).ConfigureAwait(false)).Decision;

    [Benchmark(Baseline = true)]
    public PolicyDecision Direct() => _policy.EvaluateAsync(_context, CancellationToken.None).GetAwaiter().GetResult().Decision;

    /// <summary>Builds a deterministic text of exactly <paramref name="size"/> characters.</summary>
    public static string Build(int size)
    {
        var random = new Random(20240611);
        var sb = new StringBuilder(size + 256);
        while (sb.Length < size)
        {
            sb.Append(Sentences[random.Next(Sentences.Length)]).Append(random.Next(5) == 0 ? '\n' : ' ');
        }

        return sb.ToString(0, size);
    }
}
