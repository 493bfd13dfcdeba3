using System.Text;
using Keeptrusts.AspNetCore.Memory;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.AspNetCore.Tests.Memory;

public sealed class MemoryRecallTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Every_scope_is_recalled_in_parallel()
    {
        var store = new TestMemoryStore { Hold = true };
        var recall = new MemoryRecall(store, new MemoryConfig { Scopes = [MemoryScope.Conversation, MemoryScope.User] }, new ManualTime(Start));
        var scopes = recall.ScopesOf("c1", "user:alice");

        var pending = recall.RecallAsync(scopes, CancellationToken.None).AsTask();
        await store.BothAsked.WaitAsync(TimeSpan.FromSeconds(20));
        store.Release.TrySetResult();
        var (entries, failed) = await pending.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(["conversation:c1", "user:user:alice"], scopes);
        Assert.False(failed);
        Assert.Empty(entries);
    }

    [Fact]
    public void Without_a_conversation_id_the_scope_is_the_callers_day_bucket()
    {
        var recall = new MemoryRecall(new TestMemoryStore(), new MemoryConfig(), new ManualTime(Start));

        Assert.Equal(["day:2026-12-03:user:alice"], recall.ScopesOf(null, "user:alice"));
        Assert.Equal(["day:2026-12-03:~anonymous"], recall.ScopesOf(null, null));
    }

    [Fact]
    public async Task Results_are_cached_for_the_configured_time_and_a_local_write_invalidates_them()
    {
        var time = new ManualTime(Start);
        var store = new TestMemoryStore();
        var recall = new MemoryRecall(store, new MemoryConfig { CacheSeconds = 60 }, time);
        string[] scope = ["conversation:c1"];

        await recall.RecallAsync(scope, CancellationToken.None);
        await recall.RecallAsync(scope, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(60));
        await recall.RecallAsync(scope, CancellationToken.None);
        await recall.RememberAsync(scope, [new MemoryEntry("user", "hi", Start)], CancellationToken.None);
        await recall.RecallAsync(scope, CancellationToken.None);

        Assert.Equal(3, store.Recalls);
    }

    [Fact]
    public async Task Three_failures_in_a_row_fail_fast_for_ten_seconds()
    {
        var time = new ManualTime(Start);
        var store = new TestMemoryStore { Fail = true };
        var recall = new MemoryRecall(store, new MemoryConfig { CacheSeconds = 0 }, time);
        string[] scope = ["conversation:c1"];

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await recall.RecallAsync(scope, CancellationToken.None)).Failed);
        }

        var asked = store.Recalls;
        store.Fail = false;
        var fastFailed = await recall.RecallAsync(scope, CancellationToken.None);
        time.Advance(MemoryRecall.CoolDown);
        var afterCoolDown = await recall.RecallAsync(scope, CancellationToken.None);

        Assert.Equal(3, asked);
        Assert.True(fastFailed.Failed);
        Assert.Equal(4, store.Recalls);
        Assert.False(afterCoolDown.Failed);
    }

    [Fact]
    public void The_token_budget_keeps_the_newest_entries_in_order_and_each_text_once()
    {
        var recall = new MemoryRecall(new TestMemoryStore(), new MemoryConfig { TokenBudget = 30 }, new ManualTime(Start));
        var entries = Enumerable.Range(0, 10).Select(i => new MemoryEntry("user", new string((char)('a' + i), 40), Start.AddMinutes(i))).ToList();
        entries.Add(entries[^1]);

        var chosen = recall.Budget(entries);

        Assert.Equal([new string('i', 40), new string('j', 40)], chosen.Select(static e => e.Text));
        Assert.True(chosen.Sum(MemoryRecall.Tokens) <= 30);
    }

    [Fact]
    public void Recalled_entries_go_in_one_system_message_after_the_system_prompt()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"and now?"}]}""");

        var injected = Encoding.UTF8.GetString(MemoryMessages.Inject(body, [new MemoryEntry("user", "I like teal", Start), new MemoryEntry("assistant", "Noted", Start)])!);

        Assert.Contains("""{"role":"system","content":"be brief"},{"role":"system","content":"Earlier in this conversation (recalled by the gateway):\nuser: I like teal\nassistant: Noted"},{"role":"user","content":"and now?"}""", injected, StringComparison.Ordinal);
        Assert.Null(MemoryMessages.Inject(body, []));
        Assert.Null(MemoryMessages.Inject("not json"u8, [new MemoryEntry("user", "x", Start)]));
        Assert.Equal("and now?", MemoryMessages.LastUserText(body));
    }

    private sealed class TestMemoryStore : IMemoryStore
    {
        private int _asked;

        public bool Hold { get; init; }

        public bool Fail { get; set; }

        public int Recalls => Volatile.Read(ref _asked);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SemaphoreSlim BothAskedGate { get; } = new(0);

        public Task BothAsked => Task.Run(async () =>
        {
            await BothAskedGate.WaitAsync();
            await BothAskedGate.WaitAsync();
        });

        public ValueTask AppendAsync(string scope, IReadOnlyList<MemoryEntry> entries, int maxEntries, TimeSpan ttl, CancellationToken cancellationToken) =>
            Fail ? throw new InvalidOperationException("down") : ValueTask.CompletedTask;

        public async ValueTask<IReadOnlyList<MemoryEntry>> RecallAsync(string scope, int maxEntries, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _asked);
            if (Fail)
            {
                throw new InvalidOperationException("down");
            }

            if (Hold)
            {
                // Both scopes must be asked before either answers: recall does not wait for one to ask the next.
                BothAskedGate.Release();
                await Release.Task;
            }

            return [];
        }
    }
}
