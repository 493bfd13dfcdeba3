using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Detection.Pii;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// Inputs built to wake every detector at every position. Compare 4 KB with 32 KB: linear cost means about 8x;
/// anything near 64x is a quadratic path.
/// </summary>
[MemoryDiagnoser]
public class PiiAdversarialBenchmarks
{
    private readonly List<PiiMatch> _results = new(1024);
    private PiiScanner _scanner = null!;
    private string _text = "";

    [Params("1 ", "1234567890", "a@", "a@a.", "1.1.", "::", "Zq8v+Rt2/pLx9", "eyJ.", "-----BEGIN PRIVATE KEY-----", "DE89 ", "+1 (")]
    public string Unit { get; set; } = "";

    [Params(4096, 32768)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scanner = new PiiScanner(new PiiScannerOptions());
        _text = string.Concat(Enumerable.Repeat(Unit, (Size / Unit.Length) + 1))[..Size];
    }

    [Benchmark]
    public int Scan()
    {
        _results.Clear();
        _scanner.Scan(_text, _results);
        return _results.Count;
    }
}
