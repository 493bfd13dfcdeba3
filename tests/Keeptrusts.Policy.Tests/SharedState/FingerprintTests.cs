using System.Text;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.Policy.Tests.SharedState;

public sealed class FingerprintTests
{
    private static string? Of(string caller, string body) => RequestFingerprint.Compute(caller, Encoding.UTF8.GetBytes(body));

    [Fact]
    public void Whitespace_and_case_do_not_change_the_fingerprint_but_caller_model_and_text_do()
    {
        var baseline = Of("alice", """{"model":"m","messages":[{"role":"user","content":"Hello   world"}]}""");

        Assert.NotNull(baseline);
        Assert.Equal(baseline, Of("alice", """{"temperature":1,"model":"m","messages":[{"role":"user","content":" hello world "}]}"""));
        Assert.Equal(baseline, Of("alice", """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Hello world"}]}]}"""));
        Assert.NotEqual(baseline, Of("bob", """{"model":"m","messages":[{"role":"user","content":"Hello world"}]}"""));
        Assert.NotEqual(baseline, Of("alice", """{"model":"n","messages":[{"role":"user","content":"Hello world"}]}"""));
        Assert.NotEqual(baseline, Of("alice", """{"model":"m","messages":[{"role":"system","content":"Hello world"}]}"""));
        Assert.NotEqual(baseline, Of("alice", """{"model":"m","messages":[{"role":"user","content":"Hello world!"}]}"""));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"model":"m"}""")]
    [InlineData("""{"messages":"x"}""")]
    public void A_body_without_messages_has_no_fingerprint(string body) => Assert.Null(Of("alice", body));

    [Fact]
    public async Task The_in_process_store_remembers_a_fingerprint_for_its_window_only()
    {
        var time = new ManualTime();
        var store = FingerprintStores.CreateInProcess(time);

        var first = await store.TryRecordAsync("f", TimeSpan.FromSeconds(60), CancellationToken.None);
        var again = await store.TryRecordAsync("f", TimeSpan.FromSeconds(60), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(60));
        var afterWindow = await store.TryRecordAsync("f", TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal([true, false, true], [first, again, afterWindow]);
    }

    [Fact]
    public async Task Of_concurrent_first_sightings_in_process_exactly_one_is_first()
    {
        var store = FingerprintStores.CreateInProcess(new ManualTime());

        var firsts = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => store.TryRecordAsync("same", TimeSpan.FromMinutes(1), CancellationToken.None).AsTask())));

        Assert.Equal(1, firsts.Count(static f => f));
    }

    [Fact]
    public void A_duplicate_is_written_in_the_record_only_when_set()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        AuditRecordFormat.Write(buffer, new DecisionRecord { Id = "a", Duplicate = true }, null, null);
        var flagged = Encoding.UTF8.GetString(buffer.WrittenSpan);
        buffer.Clear();
        AuditRecordFormat.Write(buffer, new DecisionRecord { Id = "b" }, null, null);
        var plain = Encoding.UTF8.GetString(buffer.WrittenSpan);

        Assert.Contains("\"duplicate\":true", flagged, StringComparison.Ordinal);
        Assert.DoesNotContain("duplicate", plain, StringComparison.Ordinal);
    }
}
