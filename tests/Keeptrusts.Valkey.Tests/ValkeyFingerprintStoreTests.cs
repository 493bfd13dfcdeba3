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
