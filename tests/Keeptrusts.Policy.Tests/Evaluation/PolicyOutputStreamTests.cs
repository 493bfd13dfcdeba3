using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Evaluation;

public class PolicyOutputStreamTests
{
    private static PolicyEngine Engine(string action = "redact") => PolicyEngine.Create(PolicyConfigLoader.Parse(
        $"pack: {{name: t, version: 1.0.0}}\npolicies:\n  chain: [pii-detector]\npolicy:\n  pii-detector: {{action: {action}}}\n").Config!);

    private static readonly Gen<string> Filler = Gen.Elements("the", "answer", "is", "below", "see", "attached", "thanks", "\n", "regards,", "ok")
        .ListOf().Select(w => string.Join(" ", w.Take(40)));

    private static readonly Gen<string> Secret = Gen.Elements(
        "jane.doe@example.org", "ops+alerts@mail.example.co.uk", "4111 1111 1111 1111", "5500005555555559", "DE89 3704 0044 0532 0130 00", "ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM");

    /// <summary>Splits a text at random points into 1..n chunks.</summary>
    private static Gen<List<string>> Chunks(string text) =>
        Gen.Choose(0, Math.Max(0, text.Length)).ListOf().Select(points =>
        {
            var cuts = points.Take(12).Where(p => p > 0 && p < text.Length).Distinct().Order().ToList();
            var chunks = new List<string>();
            var last = 0;
            foreach (var cut in cuts)
            {
                chunks.Add(text[last..cut]);
                last = cut;
            }

            chunks.Add(text[last..]);
            return chunks;
        });

    private static async Task<(string Output, DecisionRecord Record)> StreamAsync(PolicyEngine engine, IEnumerable<string> chunks)
    {
        await using var exchange = engine.BeginExchange();
        var stream = exchange.BeginOutputStream();
        var output = new System.Text.StringBuilder();
        foreach (var chunk in chunks)
        {
            var step = await stream.AppendAsync(0, chunk);
            if (step.Blocked is { } blocked)
            {
                return (output.ToString(), blocked);
            }

            output.Append(step.Emit);
        }

        var (remaining, record) = await stream.CompleteAsync();
        output.Append(remaining.GetValueOrDefault(0, string.Empty));
        return (output.ToString(), record);
    }

    [Fact]
    public void A_secret_split_across_chunks_never_reaches_the_caller_and_the_output_matches_the_unstreamed_redaction()
    {
        var engine = Engine();
        var cases = Gen.Zip(Gen.Zip(Filler, Filler), Secret).Select(p => p.Item1.Item1 + " " + p.Item2 + " " + p.Item1.Item2)
            .SelectMany(text => Chunks(text).Select(chunks => (text, chunks)));
        Properties.ForAll(cases, input =>
        {
            var (text, chunks) = input;
            var (output, record) = StreamAsync(engine, chunks).GetAwaiter().GetResult();
            var whole = engine.EvaluateTextAsync(text, PolicyPhase.Output).AsTask().GetAwaiter().GetResult();

            Assert.Equal(whole.Texts[0], output);
            Assert.Equal(PolicyDecision.Redact, record.Decision);
            Assert.Equal(
                whole.Record.Policies.SelectMany(p => p.Findings).Select(f => (f.Type, f.Start, f.End)),
                record.Policies.SelectMany(p => p.Findings).Select(f => (f.Type, f.Start, f.End)));
        }, maxTest: 300);
    }

    [Fact]
    public void A_block_ends_the_stream_before_the_secret_is_sent()
    {
        var engine = Engine("block");
        var cases = Gen.Zip(Filler, Secret).Select(p => p.Item1 + " " + p.Item2 + " and more text after it")
            .SelectMany(text => Chunks(text).Select(chunks => (text, chunks)));
        Properties.ForAll(cases, input =>
        {
            var (output, record) = StreamAsync(engine, input.chunks).GetAwaiter().GetResult();

            Assert.Equal(PolicyDecision.Block, record.Decision);
            Assert.Equal("pii-detector", record.BlockedBy);
            Assert.DoesNotContain("@", output, StringComparison.Ordinal);
            Assert.DoesNotContain("1111", output, StringComparison.Ordinal);
        }, maxTest: 200);
    }

    [Fact]
    public void Context_words_released_earlier_still_count_for_what_follows()
    {
        // "SSN" is released long before the bare number arrives; the number alone is not an SSN without it.
        var engine = Engine();
        const string Text = "Here is the record you asked for, as promised. My SSN, kept safe for years now, is: 536225262 and that is all the information you need for the form today, thanks a lot";
        var cases = Chunks(Text).Select(chunks => chunks.Where(c => c.Length > 0).ToList());
        Properties.ForAll(cases, chunks =>
        {
            var (output, record) = StreamAsync(engine, chunks).GetAwaiter().GetResult();

            Assert.DoesNotContain("536225262", output, StringComparison.Ordinal);
            Assert.Equal(engine.EvaluateTextAsync(Text, PolicyPhase.Output).AsTask().GetAwaiter().GetResult().Texts[0], output);
            Assert.Equal([("US_SSN", 84, 93)], record.Policies.SelectMany(p => p.Findings).Select(f => (f.Type, f.Start ?? -1, f.End ?? -1)));
        }, maxTest: 100);
    }

    [Fact]
    public async Task Only_a_short_tail_is_held_back()
    {
        await using var exchange = Engine().BeginExchange();
        var stream = exchange.BeginOutputStream();
        var released = 0;
        var sent = 0;

        for (var i = 0; i < 200; i++)
        {
            var chunk = "word" + i + " ";
            sent += chunk.Length;
            released += (await stream.AppendAsync(0, chunk)).Emit.Length;
            Assert.InRange(sent - released, 0, PolicyOutputStream.HoldBack + 16);
        }

        var (remaining, _) = await stream.CompleteAsync();
        Assert.Equal(sent, released + remaining[0].Length);
    }

    [Fact]
    public async Task Choices_are_guarded_independently_and_one_record_covers_the_stream()
    {
        var sink = new RecordingSink();
        var options = new PolicyEngineOptions();
        options.Sinks.Add(sink);
        var engine = PolicyEngine.Create(PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}\npolicies:\n  chain: [pii-detector]\n").Config!, options);
        await using var exchange = engine.BeginExchange();
        var stream = exchange.BeginOutputStream();

        await stream.AppendAsync(0, "first: jane.doe@exa");
        await stream.AppendAsync(1, "second: nothing here ");
        await stream.AppendAsync(0, "mple.org done");
        var (remaining, record) = await stream.CompleteAsync();

        Assert.Equal("first: [REDACTED:EMAIL_ADDRESS] done", remaining[0]);
        Assert.Equal("second: nothing here ", remaining[1]);
        Assert.Same(record, Assert.Single(sink.Records));
        Assert.Equal(PolicyDecision.Redact, record.Decision);
    }

    private sealed class RecordingSink : IDecisionSink
    {
        public List<DecisionRecord> Records { get; } = [];

        public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
        {
            Records.Add(record);
            return ValueTask.CompletedTask;
        }
    }
}
