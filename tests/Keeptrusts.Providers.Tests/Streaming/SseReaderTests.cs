using System.IO.Pipelines;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Providers.Streaming;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Streaming;

public sealed class SseReaderTests
{
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task Reads_events_with_any_line_ending_even_one_byte_at_a_time(string eol)
    {
        var text = $": comment{eol}{eol}event: delta{eol}data: first{eol}data:second{eol}id: 7{eol}retry: 10{eol}{eol}data{eol}{eol}data: [DONE]{eol}{eol}";

        var events = await ReadAllAsync(text, chunkSize: 1);

        Assert.Equal([("delta", "first\nsecond"), (null, ""), (null, "[DONE]")], events);
    }

    [Fact]
    public async Task Data_pending_at_the_end_of_the_stream_is_dispatched()
    {
        var events = await ReadAllAsync("data: a\n\ndata: tail", chunkSize: 3);

        Assert.Equal([(null, "a"), (null, "tail")], events);
    }

    [Fact]
    public async Task A_blank_line_without_data_dispatches_nothing_and_forgets_the_event_type()
    {
        var events = await ReadAllAsync("event: ping\n\ndata: x\n\n", chunkSize: 64);

        Assert.Equal([(null, "x")], events);
    }

    [Fact]
    public async Task A_line_longer_than_the_cap_fails_instead_of_buffering()
    {
        var text = "data: " + new string('x', 10_000);

        await Assert.ThrowsAsync<SseTooLargeException>(() => ReadAllAsync(text, chunkSize: 512, maxEventBytes: 4096));
    }

    [Fact]
    public async Task An_event_whose_data_lines_add_up_past_the_cap_fails()
    {
        var text = string.Concat(Enumerable.Repeat("data: " + new string('y', 1000) + "\n", 10)) + "\n";

        await Assert.ThrowsAsync<SseTooLargeException>(() => ReadAllAsync(text, chunkSize: 700, maxEventBytes: 4096));
    }

    [Fact]
    public void Any_payloads_framed_with_any_line_endings_and_split_anywhere_read_back_unchanged()
    {
        var payload = ArbMap.Default.GeneratorFor<NonNull<string>>()
            .Select(s => new string(s.Get.Where(c => c is not ('\r' or '\n') && !char.IsSurrogate(c)).ToArray()));
        var generator =
            from payloads in payload.ListOf()
            from eol in Gen.Elements("\n", "\r\n", "\r")
            from chunk in Gen.Choose(1, 17)
            select (payloads, eol, chunk);

        Properties.ForAll(generator, input =>
        {
            var text = string.Concat(input.payloads.Select(p => $"data: {p}{input.eol}{input.eol}"));
            var events = ReadAllAsync(text, input.chunk).GetAwaiter().GetResult();
            return events.Select(e => e.Data).SequenceEqual(input.payloads);
        });
    }

    private static async Task<List<(string? Type, string Data)>> ReadAllAsync(string text, int chunkSize, int maxEventBytes = 1 << 20)
    {
        var pipe = new Pipe();
        var bytes = Encoding.UTF8.GetBytes(text);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < bytes.Length; i += chunkSize)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(chunkSize, bytes.Length - i)));
            }

            await pipe.Writer.CompleteAsync();
        });

        var reader = new SseReader(pipe.Reader, maxEventBytes);
        var events = new List<(string?, string)>();
        using var patience = new CancellationTokenSource(FakeUpstream.Patience);
        try
        {
            while (await reader.ReadAsync(patience.Token) is { } evt)
            {
                events.Add((evt.EventType, Encoding.UTF8.GetString(evt.Data.Span)));
            }
        }
        finally
        {
            await pipe.Reader.CompleteAsync();
            await writer.WaitAsync(patience.Token);
        }

        return events;
    }
}
