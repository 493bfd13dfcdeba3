using System.Diagnostics;
using System.Text;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy;

/// <summary>
/// Broken and malicious files end as one clear finding and exit 1, promptly: never a crash, a hang, a stack
/// trace or an out-of-memory. Timing is only bounded loosely (see <see cref="Kt.HangLimit"/>) to catch hangs.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string> Cases => new()
    {
        { "empty", "KT1002" },
        { "binary", "KT0002" },
        { "fifty-megabytes", "KT0003" },
        { "list", "KT1003" },
        { "billion-laughs", "KT1004" },
        { "ten-thousand-brackets", "KT1005" },
        { "invalid-utf8", "KT0002" },
        { "two-documents", "KT1006" },
        { "duplicate-keys", "KT1007" },
        { "tab-indented", "KT1001" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_file_gives_one_clear_error_and_exit_1(string kind, string expectedCode)
    {
        var file = Create(kind);
        // Kt.RunAsync fails the test if the command hangs; speed is measured in bench/, not asserted here.
        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Empty(run.Error);
        var finding = Assert.Single(run.OutLines[..^1]);
        Assert.Contains($"error {expectedCode}: ", finding, StringComparison.Ordinal);
        Assert.StartsWith(file, finding, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Out, StringComparison.Ordinal);
        Assert.Equal("1 error, 0 warnings", run.OutLines[^1]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_file_gives_valid_sarif(string kind, string expectedCode)
    {
        var file = Create(kind);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "sarif");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var sarif = System.Text.Json.JsonDocument.Parse(run.Out);
        var result = Assert.Single(sarif.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray());
        Assert.Equal(expectedCode, result.GetProperty("ruleId").GetString());
    }

    private string Create(string kind) => kind switch
    {
        "empty" => _dir.Write("empty.yaml", string.Empty),
        "binary" => _dir.Write("binary.yaml", [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0xFF, 0xFE]),
        "fifty-megabytes" => WriteLarge(),
        "list" => _dir.Write("list.yaml", "- pack\n- policies\n"),
        "billion-laughs" => _dir.Write("laughs.yaml", BillionLaughs()),
        "ten-thousand-brackets" => _dir.Write("brackets.yaml", new string('[', 10_000)),
        "invalid-utf8" => _dir.Write("latin1.yaml", [(byte)'a', (byte)':', (byte)' ', 0xE9, (byte)'\n']),
        "two-documents" => _dir.Write("two.yaml", Configs.Valid + "\n---\n" + Configs.Valid),
        "duplicate-keys" => _dir.Write("dup.yaml", Configs.Valid + "\npack: { name: again, version: 0.1.0 }\n"),
        "tab-indented" => _dir.Write("tabs.yaml", "pack:\n\tname: x\n"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private string WriteLarge()
    {
        // Real YAML text, not a sparse file, so the size limit is what stops it rather than the binary check.
        var file = Path.Combine(_dir.Path, "large.yaml");
        var line = Encoding.UTF8.GetBytes("# padding padding padding padding padding padding padding padding padding\n");
        using var stream = File.Create(file);
        for (long written = 0; written < 50L * 1024 * 1024; written += line.Length)
        {
            stream.Write(line);
        }

        return file;
    }

    private static string BillionLaughs()
    {
        var yaml = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var c = 'b'; c <= 'i'; c++)
        {
            var previous = (char)(c - 1);
            yaml.Append(c).Append(": &").Append(c).Append(" [")
                .AppendJoin(',', Enumerable.Repeat("*" + previous, 9))
                .Append("]\n");
        }

        return yaml.ToString();
    }
}
