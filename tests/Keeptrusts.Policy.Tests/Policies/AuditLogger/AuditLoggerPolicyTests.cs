using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.AuditLogger.AuditTestSupport;

namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

public sealed class AuditLoggerPolicyTests : IDisposable
{
    private readonly TestFiles.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string BasePath => Path.Combine(_dir.Path, "keeptrusts-audit.jsonl");

    private string FileOn(DateTimeOffset day) => Path.Combine(_dir.Path, $"keeptrusts-audit.{day:yyyy-MM-dd}.jsonl");

    [Fact]
    public async Task A_record_is_one_line_with_the_documented_members_in_order()
    {
        await using (var logger = Logger(BasePath, immutable: false))
        {
            await logger.WriteAsync(Record(), CancellationToken.None);
        }

        var line = Assert.Single(Parse(FileOn(Day1)));
        Assert.Equal(
            ["id", "timestamp", "pack", "pack_version", "phase", "decision", "blocked_by", "reason", "status", "code", "user_id", "identity_proof_method", "conversation_id", "request_id", "model", "target_id", "fail_mode", "elapsed_ms", "policies"],
            line.EnumerateObject().Select(static p => p.Name));
        Assert.Equal("2025-03-10T12:00:00.0000000Z", line.GetProperty("timestamp").GetString());
        Assert.Equal("header_soft", line.GetProperty("identity_proof_method").GetString());
        Assert.Equal("block", line.GetProperty("decision").GetString());
        Assert.Equal("input", line.GetProperty("phase").GetString());
        Assert.Equal(400, line.GetProperty("status").GetInt32());
        var policy = Assert.Single(line.GetProperty("policies").EnumerateArray().ToArray());
        Assert.Equal(["policy", "decision", "enforced", "reason", "error", "elapsed_ms", "findings"], policy.EnumerateObject().Select(static p => p.Name));
        var finding = Assert.Single(policy.GetProperty("findings").EnumerateArray().ToArray());
        Assert.Equal(["type", "text", "start", "end", "score", "detail"], finding.EnumerateObject().Select(static p => p.Name));
        Assert.Equal("EMAIL_ADDRESS", finding.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Immutable_lines_end_with_prev_hash_and_hash()
    {
        await using (var logger = Logger(BasePath))
        {
            await logger.WriteAsync(Record(), CancellationToken.None);
        }

        var names = Assert.Single(Parse(FileOn(Day1))).EnumerateObject().Select(static p => p.Name).ToArray();
        Assert.Equal(["policies", "prev_hash", "hash"], names[^3..]);
    }

    [Fact]
    public void Log_all_access_false_writes_exactly_the_records_that_are_not_allowed()
    {
        Properties.ForAll(Gen.Zip(Decisions.ArrayOf(), Gen.Elements(true, false)), input => InTemp(dir =>
        {
            var (decisions, logAll) = input;
            var records = decisions.Take(30).Select((d, i) => Record(d, id: "r" + i)).ToArray();

            var files = WriteAll(dir, records, logAll: logAll);

            var written = files.SelectMany(Parse).Select(static l => l.GetProperty("id").GetString()).ToArray();
            var expected = records.Where(r => logAll || r.Decision != PolicyDecision.Allow).Select(static r => r.Id).ToArray();
            Assert.Equal(expected, written);
        }), 100);
    }

    [Fact]
    public async Task The_policy_never_evaluates_or_changes_a_request()
    {
        await using var logger = Logger(BasePath);

        Assert.False(logger.AppliesTo(PolicyPhase.Input));
        Assert.False(logger.AppliesTo(PolicyPhase.Output));
    }

    [Fact]
    public async Task A_restarted_logger_continues_the_chain_of_the_existing_file()
    {
        await using (var first = Logger(BasePath))
        {
            await first.WriteAsync(Record(), CancellationToken.None);
            await first.WriteAsync(Record(), CancellationToken.None);
        }

        await using (var second = Logger(BasePath))
        {
            await second.WriteAsync(Record(), CancellationToken.None);
        }

        var result = Verify(FileOn(Day1));
        Assert.True(result.IsIntact, result.Message);
        Assert.Equal(3, result.Lines);
    }

    [Fact]
    public async Task A_partial_last_line_left_by_a_crash_is_kept_and_shows_up_in_verification()
    {
        await using (var first = Logger(BasePath))
        {
            await first.WriteAsync(Record(), CancellationToken.None);
        }

        await File.AppendAllTextAsync(FileOn(Day1), "{\"id\":\"half");
        await using (var second = Logger(BasePath))
        {
            await second.WriteAsync(Record(id: "after-crash"), CancellationToken.None);
        }

        var lines = await File.ReadAllLinesAsync(FileOn(Day1));
        Assert.Equal(3, lines.Length);
        Assert.Equal("{\"id\":\"half", lines[1]);
        Assert.Equal("after-crash", JsonDocument.Parse(lines[2]).RootElement.GetProperty("id").GetString());
        var result = Verify(FileOn(Day1));
        Assert.Equal(AuditProblem.Invalid, result.Problem);
        Assert.Equal(2, result.Line);
    }

    [Fact]
    public async Task Concurrent_writers_never_interleave_lines_and_the_chain_holds()
    {
        await using (var logger = Logger(BasePath))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < 200; i++)
                {
                    await logger.WriteAsync(Record(id: $"w{w}-{i}"), CancellationToken.None);
                }
            })));
        }

        var result = Verify(FileOn(Day1));
        Assert.True(result.IsIntact, result.Message);
        Assert.Equal(1600, result.Lines);
        Assert.Equal(1600, Parse(FileOn(Day1)).Select(static l => l.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task FlushAsync_makes_every_accepted_record_visible_without_disposing()
    {
        await using var logger = Logger(BasePath);
        await logger.WriteAsync(Record(), CancellationToken.None);
        await logger.WriteAsync(Record(), CancellationToken.None);

        await logger.FlushAsync();

        Assert.Equal(2, logger.WrittenRecords);
        using var stream = new FileStream(FileOn(Day1), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.True(AuditChain.Verify(stream).IsIntact);
    }

    [Fact]
    public async Task Readers_can_open_the_file_while_the_logger_runs()
    {
        await using var logger = Logger(BasePath);
        await logger.WriteAsync(Record(), CancellationToken.None);
        await logger.FlushAsync();

        using var reader = new FileStream(FileOn(Day1), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.True(reader.Length > 0);
    }

    [Fact]
    public async Task Writing_after_dispose_fails_loudly_instead_of_dropping_the_record()
    {
        var logger = Logger(BasePath);
        await logger.DisposeAsync();

        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => logger.WriteAsync(Record(), CancellationToken.None).AsTask());
        await logger.DisposeAsync();
    }

    [Fact]
    public async Task Records_rotate_to_a_file_per_utc_date_and_the_first_line_carries_the_previous_files_last_hash()
    {
        await using (var logger = Logger(BasePath))
        {
            await logger.WriteAsync(Record(at: Day1), CancellationToken.None);
            await logger.WriteAsync(Record(at: Day1.AddHours(11).AddMinutes(59)), CancellationToken.None);
            await logger.WriteAsync(Record(at: Day1.AddHours(12)), CancellationToken.None);

            // Finished just before midnight, written after the next day's first record: stays in the current file.
            await logger.WriteAsync(Record(at: Day1.AddHours(11).AddMinutes(59), id: "late"), CancellationToken.None);
        }

        var day1 = Verify(FileOn(Day1));
        var day2 = Verify(FileOn(Day1.AddDays(1)));
        Assert.True(day1.IsIntact && day2.IsIntact);
        Assert.Equal(2, day1.Lines);
        Assert.Equal(2, day2.Lines);
        Assert.Null(day1.PrevFileHash);
        Assert.Equal(day1.LastHash, day2.PrevFileHash);
        Assert.Equal("late", Parse(FileOn(Day1.AddDays(1)))[1].GetProperty("id").GetString());
        Assert.False(File.Exists(BasePath));
    }

    [Fact]
    public async Task A_new_days_file_after_a_restart_still_chains_to_the_latest_earlier_file()
    {
        await using (var first = Logger(BasePath))
        {
            await first.WriteAsync(Record(at: Day1), CancellationToken.None);
        }

        await using (var second = Logger(BasePath, time: new FakeTime(Day1.AddDays(3))))
        {
            await second.WriteAsync(Record(at: Day1.AddDays(3)), CancellationToken.None);
        }

        Assert.Equal(Verify(FileOn(Day1)).LastHash, Verify(FileOn(Day1.AddDays(3))).PrevFileHash);
    }

    [Fact]
    public async Task Rotation_deletes_dated_files_past_retention_and_nothing_else()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "notes.txt"), "keep");
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "keeptrusts-audit.jsonl.bak"), "keep");
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "keeptrusts-audit.2020-13-01.jsonl"), "keep");

        await using (var logger = Logger(BasePath, retentionDays: 2))
        {
            for (var day = 0; day < 5; day++)
            {
                await logger.WriteAsync(Record(at: Day1.AddDays(day)), CancellationToken.None);
            }
        }

        var remaining = Directory.GetFiles(_dir.Path).Select(static f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
            ["keeptrusts-audit.2020-13-01.jsonl", "keeptrusts-audit.2025-03-12.jsonl", "keeptrusts-audit.2025-03-13.jsonl", "keeptrusts-audit.2025-03-14.jsonl", "keeptrusts-audit.jsonl.bak", "notes.txt"],
            remaining);
    }

    [Fact]
    public async Task Start_removes_files_past_retention_by_the_clock()
    {
        foreach (var daysAgo in new[] { 0, 1, 7, 8, 30 })
        {
            await File.WriteAllTextAsync(FileOn(Day1.AddDays(-daysAgo)), "{}\n");
        }

        var logger = Logger(BasePath, retentionDays: 7, time: new FakeTime(Day1));
        await logger.FlushAsync();
        await logger.DisposeAsync();

        Assert.True(File.Exists(FileOn(Day1.AddDays(-7))));
        Assert.False(File.Exists(FileOn(Day1.AddDays(-8))));
        Assert.False(File.Exists(FileOn(Day1.AddDays(-30))));
        Assert.Equal(3, Directory.GetFiles(_dir.Path).Length);
    }

    [Fact]
    public async Task Without_retention_days_nothing_is_ever_deleted()
    {
        await File.WriteAllTextAsync(FileOn(Day1.AddYears(-20)), "{}\n");

        await using (var logger = Logger(BasePath, time: new FakeTime(Day1)))
        {
            await logger.WriteAsync(Record(at: Day1), CancellationToken.None);
        }

        Assert.True(File.Exists(FileOn(Day1.AddYears(-20))));
    }

    [Fact]
    public async Task A_missing_directory_is_created_at_start()
    {
        var nested = Path.Combine(_dir.Path, "a", "b", "audit.jsonl");

        await using (var logger = Logger(nested))
        {
            await logger.FlushAsync();
            Assert.True(Directory.Exists(Path.Combine(_dir.Path, "a", "b")));
            await logger.WriteAsync(Record(), CancellationToken.None);
        }

        Assert.True(Verify(Path.Combine(_dir.Path, "a", "b", "audit.2025-03-10.jsonl")).IsIntact);
    }

    [Fact]
    public async Task An_unwritable_path_counts_lost_records_and_never_throws_on_the_request_path()
    {
        // A regular file where the directory should be: every open fails.
        var blocker = Path.Combine(_dir.Path, "blocker");
        await File.WriteAllTextAsync(blocker, "x");
        await using var logger = Logger(Path.Combine(blocker, "audit.jsonl"));

        await logger.WriteAsync(Record(), CancellationToken.None);
        await logger.FlushAsync();

        Assert.Equal(1, logger.LostRecords);
        Assert.Equal(0, logger.WrittenRecords);
        Assert.NotNull(logger.LastFailure);
    }

    [Fact]
    public async Task Odd_strings_are_written_as_valid_json_and_huge_records_verify()
    {
        var huge = Record() with
        {
            UserId = "\ud800 lone \udfff and 🚀 and \u0000 nul",
            Policies = [new PolicyOutcome { Policy = "p", Findings = Enumerable.Range(0, 20_000).Select(i => new PolicyFinding("p", "T") { Start = i, End = i + 1, Score = double.NaN }).ToArray() }],
        };

        await using (var logger = Logger(BasePath))
        {
            await logger.WriteAsync(huge, CancellationToken.None);
            await logger.WriteAsync(Record() with { UserId = string.Empty, Reason = new string('é', 100_000) }, CancellationToken.None);
        }

        var lines = Parse(FileOn(Day1));
        Assert.Equal("\ufffd lone \ufffd and 🚀 and \u0000 nul", lines[0].GetProperty("user_id").GetString());
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("policies")[0].GetProperty("findings")[0].GetProperty("score").ValueKind);
        Assert.True(Verify(FileOn(Day1)).IsIntact);
    }

    [Fact]
    public async Task Lines_are_utf8_and_end_with_a_single_newline()
    {
        await using (var logger = Logger(BasePath))
        {
            await logger.WriteAsync(Record() with { UserId = "名前" }, CancellationToken.None);
        }

        var bytes = await File.ReadAllBytesAsync(FileOn(Day1));
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.Equal(1, bytes.Count(static b => b == '\n'));
        Assert.DoesNotContain((byte)'\r', bytes);
        _ = new UTF8Encoding(false, true).GetString(bytes);
    }
}
