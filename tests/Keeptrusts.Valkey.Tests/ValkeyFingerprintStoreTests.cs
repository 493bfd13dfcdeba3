using Keeptrusts.Policy.SharedState;
using static Keeptrusts.Valkey.Tests.ValkeyTestKit;

namespace Keeptrusts.Valkey.Tests;

[Collection(ValkeyCollection.Name)]
public sealed class ValkeyFingerprintStoreTests(ValkeyServer valkey)
{
    [Fact]
    public async Task A_fingerprint_seen_by_one_instance_is_a_duplicate_on_the_other()
    {
        var partition = NewPartition();
        await using var a = Connect(valkey.Url, partition);
        await using var b = Connect(valkey.Url, partition);

        var first = await a.Fingerprints.TryRecordAsync("abc", TimeSpan.FromMinutes(1), CancellationToken.None);
        var again = await b.Fingerprints.TryRecordAsync("abc", TimeSpan.FromMinutes(1), CancellationToken.None);
        var ttl = (long)await valkey.CommandAsync("PTTL", $"keeptrusts:t:o:{partition.Gateway}:fp:abc");

        Assert.True(first);
        Assert.False(again);
        Assert.InRange(ttl, 1, 60_000);
    }

    [Fact]
    public async Task Of_concurrent_first_sightings_exactly_one_is_first()
    {
        var partition = NewPartition();
        await using var a = Connect(valkey.Url, partition);
        await using var b = Connect(valkey.Url, partition);

        var firsts = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).Fingerprints.TryRecordAsync("same", TimeSpan.FromMinutes(1), CancellationToken.None).AsTask())).WaitAsync(Bound);

        Assert.Equal(1, firsts.Count(static f => f));
    }

    [Fact]
    public async Task While_unreachable_fingerprints_are_kept_in_process()
    {
        var events = new List<SharedStateEvent>();
        await using var backend = Connect($"redis://127.0.0.1:{ValkeyServer.ClosedPort()}", NewPartition(), events, options: new ValkeyOptions());

        Assert.True(await backend.Fingerprints.TryRecordAsync("abc", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.False(await backend.Fingerprints.TryRecordAsync("abc", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(SharedStateEventKind.Unavailable, Assert.Single(events).Kind);
    }
}

[Collection(ValkeyCollection.Name)]
public sealed class ValkeyMemoryStoreTests(ValkeyServer valkey)
{
    [Fact]
    public async Task Entries_are_kept_newest_first_trimmed_and_expiring_and_shared_by_instances()
    {
        var partition = ValkeyTestKit.NewPartition();
        await using var a = ValkeyTestKit.Connect(valkey.Url, partition);
        await using var b = ValkeyTestKit.Connect(valkey.Url, partition);
        var at = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

        await a.Memory.AppendAsync("conversation:c1", [new("user", "one", at), new("assistant", "two", at)], 3, TimeSpan.FromMinutes(5), CancellationToken.None);
        await a.Memory.AppendAsync("conversation:c1", [new("user", "three", at), new("assistant", "four", at)], 3, TimeSpan.FromMinutes(5), CancellationToken.None);
        var recalled = await b.Memory.RecallAsync("conversation:c1", 10, CancellationToken.None);
        var ttl = (long)await valkey.CommandAsync("PTTL", $"keeptrusts:t:o:{partition.Gateway}:mem:conversation%3Ac1");

        Assert.Equal(["four", "three", "two"], recalled.Select(static e => e.Text));
        Assert.Equal(at, recalled[0].At);
        Assert.InRange(ttl, 1, 300_000);
        Assert.Empty(await b.Memory.RecallAsync("conversation:other", 10, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreachable_server_raises_so_recall_can_fail_fast()
    {
        await using var backend = ValkeyTestKit.Connect($"redis://127.0.0.1:{ValkeyServer.ClosedPort()}", ValkeyTestKit.NewPartition(), options: new ValkeyOptions());

        await Assert.ThrowsAsync<InvalidOperationException>(() => backend.Memory.RecallAsync("conversation:c1", 10, CancellationToken.None).AsTask());
    }
}
