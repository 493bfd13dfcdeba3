using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.SharedState;
using static Keeptrusts.Valkey.Tests.ValkeyTestKit;

namespace Keeptrusts.Valkey.Tests;

/// <summary>Spend reservations and settlements shared through a real server.</summary>
[Collection(ValkeyCollection.Name)]
public sealed class ValkeySpendStoreTests(ValkeyServer valkey)
{
    private static readonly DateOnly Day = new(2026, 12, 3);

    [Fact]
    public async Task Two_instances_never_reserve_past_the_limit_under_concurrency()
    {
        var partition = NewPartition();
        await using var a = Connect(valkey.Url, partition);
        await using var b = Connect(valkey.Url, partition);
        SpendKey[] keys = [new("global", 1.00m)];

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => (i % 2 == 0 ? a : b).SpendStore.TryReserveAsync(keys, 0.03m, Day, CancellationToken.None).AsTask())).WaitAsync(Bound);

        Assert.Equal(33, results.Count(static r => r.Reservation is not null));
        Assert.Equal(0.99m, await a.SpendStore.GetSpendAsync("global", Day, CancellationToken.None));
        Assert.All(results.Where(static r => r.Reservation is null), static r => Assert.Equal("global", r.ExceededKey!.Value.Key));
    }

    [Fact]
    public async Task Settling_replaces_the_reservation_with_the_actual_cost_once()
    {
        await using var backend = Connect(valkey.Url, NewPartition());
        var store = backend.SpendStore;
        var reserved = (await store.TryReserveAsync([new("global", 10m), new("user:alice", 1m)], 0.5m, Day, CancellationToken.None)).Reservation!;

        await store.SettleAsync(reserved, 0.2m, CancellationToken.None);
        await store.SettleAsync(reserved, 0.2m, CancellationToken.None);
        await store.ReleaseAsync(reserved, CancellationToken.None);

        Assert.Equal(0.2m, await store.GetSpendAsync("global", Day, CancellationToken.None));
        Assert.Equal(0.2m, await store.GetSpendAsync("user:alice", Day, CancellationToken.None));
    }

    [Fact]
    public async Task A_crashed_instances_reservation_expires()
    {
        var partition = NewPartition();
        var time = new ManualTime(new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero));
        var options = Patient();
        options.ReservationTimeout = TimeSpan.FromMinutes(5);
        var crashed = Connect(valkey.Url, partition, time: time, options: options);
        Assert.NotNull((await crashed.SpendStore.TryReserveAsync([new("global", 1m)], 0.8m, Day, CancellationToken.None)).Reservation);
        await crashed.DisposeAsync();
        await using var survivor = Connect(valkey.Url, partition, time: time, options: options);

        var whileHeld = await survivor.SpendStore.TryReserveAsync([new("global", 1m)], 0.5m, Day, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(1));
        var afterExpiry = await survivor.SpendStore.TryReserveAsync([new("global", 1m)], 0.5m, Day, CancellationToken.None);

        Assert.Null(whileHeld.Reservation);
        Assert.Equal(0.8m, whileHeld.SpentUsd);
        Assert.NotNull(afterExpiry.Reservation);
        Assert.Equal(0.5m, await survivor.SpendStore.GetSpendAsync("global", Day, CancellationToken.None));
    }

    [Fact]
    public async Task While_unreachable_allow_counts_in_process_and_block_refuses()
    {
        var url = $"redis://127.0.0.1:{ValkeyServer.ClosedPort()}";
        await using var allow = Connect(url, NewPartition(), options: new ValkeyOptions());
        await using var block = Connect(url, NewPartition(), options: new ValkeyOptions(), spendFailMode: FailMode.Block);

        var first = await allow.SpendStore.TryReserveAsync([new("global", 1m)], 0.6m, Day, CancellationToken.None);
        var second = await allow.SpendStore.TryReserveAsync([new("global", 1m)], 0.6m, Day, CancellationToken.None);
        await allow.SpendStore.SettleAsync(first.Reservation!, 0.1m, CancellationToken.None);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => block.SpendStore.TryReserveAsync([new("global", 1m)], 0.1m, Day, CancellationToken.None).AsTask());

        Assert.NotNull(first.Reservation);
        Assert.Null(second.Reservation);
        Assert.Equal(0.1m, await allow.SpendStore.GetSpendAsync("global", Day, CancellationToken.None));
        Assert.Contains("unreachable", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Any sequence of reserve / settle / release calls leaves the shared store where the in-process store (the
    /// reference model) ends up, and no key is ever over its limit by reservations.
    /// </summary>
    [Fact]
    public async Task Any_sequence_of_operations_agrees_with_the_in_process_store()
    {
        await using var backend = Connect(valkey.Url, NewPartition());
        var amount = Gen.Choose(0, 400).Select(static c => c / 1000m);
        var op = Gen.Zip(Gen.Choose(0, 2), Gen.Zip(amount, Gen.Zip(Gen.Choose(0, 7), Gen.Elements("global", "user:a", "user:b"))));
        var run = 0;
        var property = Prop.ForAll(Gen.ListOf(op).Select(static l => l.Take(25).ToArray()).ToArbitrary(), ops =>
        {
            var day = Day.AddDays(Interlocked.Increment(ref run) * 3);
            var model = SpendStores.CreateInMemory();
            var open = new List<(SpendReservation Shared, SpendReservation Model)>();
            foreach (var (kind, (usd, (pick, user))) in ops)
            {
                SpendKey[] keys = [new("global", 1m), new(user, 0.5m)];
                if (kind == 0 || open.Count == 0)
                {
                    var shared = backend.SpendStore.TryReserveAsync(keys, usd, day, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    var expected = model.TryReserveAsync(keys, usd, day, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    Assert.Equal(expected.Reservation is null, shared.Reservation is null);
                    Assert.Equal(expected.ExceededKey?.Key, shared.ExceededKey?.Key);
                    Assert.Equal(expected.SpentUsd, shared.SpentUsd);
                    if (shared.Reservation is { } s)
                    {
                        open.Add((s, expected.Reservation!));
                    }
                }
                else
                {
                    var (shared, reference) = open[pick % open.Count];
                    open.Remove((shared, reference));
                    if (kind == 1)
                    {
                        backend.SpendStore.SettleAsync(shared, usd, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                        model.SettleAsync(reference, usd, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    }
                    else
                    {
                        backend.SpendStore.ReleaseAsync(shared, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                        model.ReleaseAsync(reference, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    }
                }

                foreach (var key in new[] { "global", "user:a", "user:b" })
                {
                    Assert.Equal(model.GetSpendAsync(key, day, CancellationToken.None).AsTask().GetAwaiter().GetResult(), backend.SpendStore.GetSpendAsync(key, day, CancellationToken.None).AsTask().GetAwaiter().GetResult());
                }
            }
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), property);
    }

    [Fact]
    public void Amounts_round_up_to_whole_nano_dollars_and_never_count_less()
    {
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue).Select(static n => n / 1_000_000_000m * 7.3m).ToArbitrary(), static usd =>
        {
            var nanos = SpendAmounts.ToNanos(usd);
            var back = SpendAmounts.ToUsd(nanos);
            Assert.True(back >= usd);
            Assert.True(back - usd < 0.000000001m);
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);
        Assert.Equal(SpendAmounts.MaxNanos, SpendAmounts.ToNanos(decimal.MaxValue));
    }
}
