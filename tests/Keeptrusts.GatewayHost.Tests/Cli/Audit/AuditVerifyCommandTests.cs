using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli.Audit;

public sealed class AuditVerifyCommandTests : IDisposable
{
    private static readonly DateTimeOffset Day1 = new(2025, 3, 10, 9, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Writes daily files the way the documented format says (docs/policies.md, audit-logger), independently of the
    /// writer: the command must accept what the documentation promises.
    /// </summary>
    private Task<string[]> WriteAsync(bool immutable, params DateTimeOffset[] times)
    {
        var files = new List<string>();
        string? previousDigest = null;
        foreach (var day in times.GroupBy(static t => t.UtcDateTime.Date).OrderBy(static g => g.Key))
        {
            var file = Path.Combine(_dir.Path, $"audit.{day.Key:yyyy-MM-dd}.jsonl");
            var text = new StringBuilder();
            string? last = null;
            foreach (var time in day)
            {
                var body = $"{{\"id\":\"{Guid.NewGuid():N}\",\"timestamp\":\"{time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'}\",\"decision\":\"block\",\"reason\":\"blocked\",\"policies\":[]";
                string line;
                if (immutable)
                {
                    if (last is null && previousDigest is not null)
                    {
                        body += $",\"prev_file_hash\":\"{previousDigest}\"";
                    }

                    body += $",\"prev_hash\":\"{(last is null ? new string('0', 64) : Sha256(last))}\"";
                    line = body + $",\"hash\":\"{Sha256(body + "}")}\"}}";
                }
                else
                {
                    line = body + "}";
                }

                text.Append(line).Append('\n');
                last = line;
            }

            File.WriteAllText(file, text.ToString());
            previousDigest = Sha256(last!);
            files.Add(file);
        }

        return Task.FromResult(files.ToArray());
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void RewriteLines(string file, Func<List<string>, List<string>> change) =>
        File.WriteAllText(file, string.Concat(change(File.ReadAllLines(file).ToList()).Select(static l => l + "\n")));

    [Fact]
    public async Task An_intact_file_exits_0_and_reports_its_record_count_and_last_hash()
    {
        var file = Assert.Single(await WriteAsync(true, Day1, Day1, Day1));

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", file);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.Matches($"^{Regex(file)}: intact, 3 records, last hash [0-9a-f]{{64}}$", run.OutLines[0]);
        Assert.Equal("1 file is intact", run.OutLines[1]);
    }

    [Fact]
    public async Task An_edited_line_exits_1_and_names_the_line()
    {
        var file = Assert.Single(await WriteAsync(true, Day1, Day1, Day1));
        RewriteLines(file, lines =>
        {
            lines[1] = lines[1].Replace("\"decision\":\"block\"", "\"decision\":\"allow\"", StringComparison.Ordinal);
            return lines;
        });

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", file);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.StartsWith($"{file}:2: tampered (edited): line 2 was edited", run.OutLines[0], StringComparison.Ordinal);
        Assert.Equal("1 of 1 file failed verification", run.OutLines[1]);
    }

    [Theory]
    [InlineData("delete", 2, "deleted_or_inserted")]
    [InlineData("swap", 1, "reordered")]
    [InlineData("duplicate", 3, "duplicated")]
    [InlineData("truncate", 4, "truncated")]
    public async Task Tampering_is_named_with_its_line_in_json(string how, int line, string problem)
    {
        var file = Assert.Single(await WriteAsync(true, Day1, Day1, Day1, Day1));
        if (how == "truncate")
        {
            var bytes = await File.ReadAllBytesAsync(file);
            await File.WriteAllBytesAsync(file, bytes[..^10]);
        }
        else
        {
            RewriteLines(file, lines =>
            {
                switch (how)
                {
                    case "delete": lines.RemoveAt(1); break;
                    case "swap": (lines[0], lines[2]) = (lines[2], lines[0]); break;
                    default: lines.Insert(2, lines[1]); break;
                }

                return lines;
            });
        }

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", file, "--format", "json");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var json = JsonDocument.Parse(run.Out);
        Assert.False(json.RootElement.GetProperty("intact").GetBoolean());
        var result = Assert.Single(json.RootElement.GetProperty("files").EnumerateArray().ToArray());
        Assert.Equal(file, result.GetProperty("file").GetString());
        Assert.Equal(line, result.GetProperty("line").GetInt32());
        Assert.Equal(problem, result.GetProperty("problem").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("last_hash").ValueKind);
    }

    [Fact]
    public async Task A_file_written_without_immutable_exits_1_with_no_hash_chain()
    {
        var file = Assert.Single(await WriteAsync(false, Day1));

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", file);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Contains("no hash chain", run.OutLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daily_files_in_order_verify_together_and_a_file_missing_between_them_is_caught()
    {
        var files = await WriteAsync(true, Day1, Day1.AddDays(1), Day1.AddDays(2));
        Assert.Equal(3, files.Length);

        var all = await Kt.RunAsync(_dir.Path, ["audit", "verify", .. files, "--format", "json"]);
        var gap = await Kt.RunAsync(_dir.Path, "audit", "verify", files[0], files[2]);

        Assert.Equal(ExitCodes.Success, all.ExitCode);
        Assert.True(JsonDocument.Parse(all.Out).RootElement.GetProperty("intact").GetBoolean());
        Assert.Equal(ExitCodes.Findings, gap.ExitCode);
        Assert.StartsWith($"{files[2]}:1: tampered (file_chain_broken): line 1 does not continue {files[0]}", gap.OutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lines_deleted_from_the_end_of_an_earlier_day_are_caught_by_the_next_day()
    {
        var files = await WriteAsync(true, Day1, Day1, Day1.AddDays(1));
        RewriteLines(files[0], lines => lines.Take(1).ToList());

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", files[0], files[1]);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Contains("intact, 1 record,", run.OutLines[0], StringComparison.Ordinal);
        Assert.Contains("file_chain_broken", run.OutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_a_usage_error_with_one_line_on_stderr()
    {
        var file = Assert.Single(await WriteAsync(true, Day1));
        var missing = Path.Combine(_dir.Path, "nope.jsonl");

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", file, missing);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal($"kt: error: file not found: {missing}", Assert.Single(run.ErrorLines));
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task A_directory_is_a_usage_error()
    {
        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", _dir.Path);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains("is a directory", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relative_paths_are_read_from_the_working_directory()
    {
        var file = Assert.Single(await WriteAsync(true, Day1));

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", Path.GetFileName(file));

        Assert.Equal(ExitCodes.Success, run.ExitCode);
    }

    [Fact]
    public async Task No_file_or_an_unknown_format_is_a_usage_error()
    {
        var none = await Kt.RunAsync(_dir.Path, "audit", "verify");
        var format = await Kt.RunAsync(_dir.Path, "audit", "verify", "a.jsonl", "--format", "sarif");

        Assert.Equal(ExitCodes.UsageOrIo, none.ExitCode);
        Assert.Equal(ExitCodes.UsageOrIo, format.ExitCode);
        Assert.StartsWith("kt: error: ", Assert.Single(format.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_is_reported_not_thrown()
    {
        var binary = _dir.Write("binary.jsonl", [0xFF, 0xFE, 0x00, (byte)'\n', 0xC3]);
        var text = _dir.Write("text.jsonl", "hello\nworld\n");
        var longLine = _dir.Write("long.jsonl", Encoding.ASCII.GetBytes(new string('{', 17 * 1024 * 1024)));

        var run = await Kt.RunAsync(_dir.Path, "audit", "verify", binary, text, longLine);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.Equal(4, run.OutLines.Length);
        Assert.Contains("longer than 16 MiB", run.OutLines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_audit_group()
    {
        var run = await Kt.RunAsync(_dir.Path, "audit", "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("verify", run.Out, StringComparison.Ordinal);
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
