using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.AuditLogger.AuditTestSupport;

namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

/// <summary>Any file the writer produces verifies; any single edit of it does not, and the first broken line is named.</summary>
public sealed class AuditChainPropertyTests
{
    private const int Cases = 60;

    /// <summary>Records of one day, so the whole sequence lands in one file.</summary>
    private static readonly Gen<DecisionRecord[]> OneDay =
        Records.Select(static r => r with { Timestamp = Day1 }).ArrayOf().Where(static a => a.Length >= 2).Select(static a => a.Take(12).ToArray());

    private static byte[] WriteOneFile(DecisionRecord[] records)
    {
        byte[] bytes = [];
        InTemp(dir => bytes = File.ReadAllBytes(Assert.Single(WriteAll(dir, records))));
        return bytes;
    }

    [Fact]
    public void Any_sequence_written_with_immutable_verifies_and_files_chain_to_each_other()
    {
        Properties.ForAll(Records.ArrayOf().Select(static a => a.Take(20).ToArray()), records => InTemp(dir =>
        {
            var files = WriteAll(dir, records);

            string? previousLast = null;
            foreach (var file in files)
            {
                var result = Verify(file);
                Assert.True(result.IsIntact, result.Message);
                Assert.Equal(previousLast, result.PrevFileHash);
                previousLast = result.LastHash;
            }

            Assert.Equal(records.Length, files.Sum(f => File.ReadAllLines(f).Length));
        }), Cases);
    }

    [Fact]
    public void Changing_any_byte_of_a_line_is_caught_at_that_line()
    {
        var gen = from records in OneDay
                  from line in Gen.Choose(0, records.Length - 1)
                  from position in Gen.Choose(0, int.MaxValue)
                  from value in Gen.Choose(0, 255)
                  select (records, line, position, (byte)value);
        Properties.ForAll(gen, input =>
        {
            var (records, index, position, value) = input;
            var lines = Lines(WriteOneFile(records));
            var line = lines[index];
            var at = position % line.Length;
            var replacement = value == line[at] || value == '\n' ? (byte)(line[at] == 'x' ? 'y' : 'x') : value;
            line[at] = replacement;

            var result = Verify(Join(lines));

            Assert.False(result.IsIntact);
            Assert.Equal(index + 1, result.Line);
            Assert.Contains(result.Problem, new[] { AuditProblem.Edited, AuditProblem.Invalid });
        }, Cases);
    }

    [Fact]
    public void Deleting_a_line_other_than_the_last_is_caught_at_the_line_after_it()
    {
        var gen = from records in OneDay
                  from line in Gen.Choose(0, records.Length - 2)
                  select (records, line);
        Properties.ForAll(gen, input =>
        {
            var lines = Lines(WriteOneFile(input.records));
            lines.RemoveAt(input.line);

            var result = Verify(Join(lines));

            Assert.Equal(AuditProblem.DeletedOrInserted, result.Problem);
            Assert.Equal(input.line + 1, result.Line);
        }, Cases);
    }

    [Fact]
    public void Swapping_two_lines_is_caught_at_the_first_of_them()
    {
        var gen = from records in OneDay
                  from i in Gen.Choose(0, records.Length - 2)
                  from j in Gen.Choose(i + 1, records.Length - 1)
                  select (records, i, j);
        Properties.ForAll(gen, input =>
        {
            var lines = Lines(WriteOneFile(input.records));
            (lines[input.i], lines[input.j]) = (lines[input.j], lines[input.i]);

            var result = Verify(Join(lines));

            Assert.Equal(AuditProblem.Reordered, result.Problem);
            Assert.Equal(input.i + 1, result.Line);
        }, Cases);
    }

    [Fact]
    public void Duplicating_a_line_is_caught_at_the_copy()
    {
        var gen = from records in OneDay
                  from line in Gen.Choose(0, records.Length - 1)
                  select (records, line);
        Properties.ForAll(gen, input =>
        {
            var lines = Lines(WriteOneFile(input.records));
            lines.Insert(input.line + 1, lines[input.line]);

            var result = Verify(Join(lines));

            Assert.Equal(AuditProblem.Duplicated, result.Problem);
            Assert.Equal(input.line + 2, result.Line);
            Assert.Contains($"repeats line {input.line + 1}", result.Message, StringComparison.Ordinal);
        }, Cases);
    }

    [Fact]
    public void Truncating_the_file_anywhere_but_a_line_boundary_is_caught_at_the_cut_line()
    {
        var gen = from records in OneDay
                  from cut in Gen.Choose(1, int.MaxValue)
                  select (records, cut);
        Properties.ForAll(gen, input =>
        {
            var bytes = WriteOneFile(input.records);
            var length = 1 + (input.cut % (bytes.Length - 1));
            if (bytes[length - 1] == '\n')
            {
                length--;
            }

            var result = Verify(bytes[..length]);

            Assert.Equal(AuditProblem.Truncated, result.Problem);
            Assert.Equal(bytes.AsSpan(0, length).Count((byte)'\n') + 1, result.Line);
        }, Cases);
    }

    [Fact]
    public void A_file_written_without_immutable_has_no_hash_chain()
    {
        InTemp(dir =>
        {
            var file = Assert.Single(WriteAll(dir, [Record(), Record()], immutable: false));

            var result = Verify(file);

            Assert.Equal(AuditProblem.NoHashChain, result.Problem);
            Assert.Contains("no hash chain", result.Message, StringComparison.Ordinal);
            Assert.All(Parse(file), line =>
            {
                Assert.False(line.TryGetProperty("hash", out _));
                Assert.False(line.TryGetProperty("prev_hash", out _));
            });
        });
    }

    [Fact]
    public void An_empty_file_has_no_hash_chain()
    {
        Assert.Equal(AuditProblem.NoHashChain, Verify([]).Problem);
    }

    [Fact]
    public void Hash_is_the_sha256_of_the_line_without_its_hash_member()
    {
        InTemp(dir =>
        {
            var file = Assert.Single(WriteAll(dir, [Record(), Record()]));
            var lines = Lines(File.ReadAllBytes(file));

            foreach (var line in lines)
            {
                var text = System.Text.Encoding.UTF8.GetString(line);
                var cut = text.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal);
                var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text[..cut] + "}")));
                Assert.EndsWith($",\"hash\":\"{expected}\"}}", text, StringComparison.Ordinal);
            }

            Assert.Contains($"\"prev_hash\":\"{AuditChain.Genesis}\"", System.Text.Encoding.UTF8.GetString(lines[0]), StringComparison.Ordinal);
            Assert.Contains($"\"prev_hash\":\"{AuditChain.LineDigest(lines[0])}\"", System.Text.Encoding.UTF8.GetString(lines[1]), StringComparison.Ordinal);
        });
    }

    [Fact]
    public void A_recomputed_hash_does_not_hide_an_edit_from_the_next_line()
    {
        InTemp(dir =>
        {
            var lines = Lines(File.ReadAllBytes(Assert.Single(WriteAll(dir, [Record(), Record(), Record()]))));
            var text = System.Text.Encoding.UTF8.GetString(lines[1]).Replace("\"decision\":\"block\"", "\"decision\":\"allow\"", StringComparison.Ordinal);
            var body = text[..text.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)];
            lines[1] = System.Text.Encoding.UTF8.GetBytes($"{body},\"hash\":\"{AuditChain.ContentHash(System.Text.Encoding.UTF8.GetBytes(body))}\"}}");

            var result = Verify(Join(lines));

            Assert.Equal(AuditProblem.DeletedOrInserted, result.Problem);
            Assert.Equal(3, result.Line);
        });
    }

    [Fact]
    public void ReadLastLine_reads_only_the_last_line_even_when_it_is_long_or_unterminated()
    {
        var longLine = new string('a', 10_000);
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("first\n" + longLine + "\nlast-partial"));

        var (line, terminated) = AuditChain.ReadLastLine(stream)!.Value;

        Assert.Equal("last-partial", System.Text.Encoding.UTF8.GetString(line));
        Assert.False(terminated);

        using var second = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("first\n" + longLine + "\n"));
        var tail = AuditChain.ReadLastLine(second)!.Value;
        Assert.Equal(longLine, System.Text.Encoding.UTF8.GetString(tail.Line));
        Assert.True(tail.Terminated);
        Assert.Null(AuditChain.ReadLastLine(new MemoryStream()));
    }
}
