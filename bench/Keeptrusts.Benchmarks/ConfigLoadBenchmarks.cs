using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// Loading and linting configurations, including hostile ones: each must be answered quickly with a finding, never
/// by exhausting the stack or memory.
/// </summary>
[MemoryDiagnoser]
public class ConfigLoadBenchmarks
{
    private string _text = "";

    [Params("quickstart", "billion-laughs", "deep-nesting", "list-root", "huge-scalar")]
    public string Input { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _text = Input switch
    {
        "quickstart" => File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", "quickstart", "policy-config.yaml")),
        "billion-laughs" => BillionLaughs(),
        "deep-nesting" => new string('[', 10_000) + new string(']', 10_000),
        "list-root" => string.Concat(Enumerable.Repeat("- item\n", 20_000)),
        _ => "pack:\n  name: t\n  version: 1.0.0\n  description: \"" + new string('x', 3_000_000) + "\"\n",
    };

    [Benchmark]
    public int Load() => PolicyConfigLoader.Parse(_text, "bench.yaml").Diagnostics.Count;

    private static string BillionLaughs()
    {
        var lines = new List<string> { "a: &a [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++)
        {
            var name = (char)('a' + i);
            lines.Add($"{name}: &{name} [{string.Join(", ", Enumerable.Repeat("*" + (char)(name - 1), 10))}]");
        }

        return string.Join("\n", lines) + "\n";
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Keeptrusts.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }
}
