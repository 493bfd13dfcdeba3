using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies;

public class InMemorySpendStoreTests
{
    private static readonly DateOnly Day = new(2025, 3, 14);

    [Fact]
    public async Task A_reservation_is_closed_once_so_a_second_release_cannot_take_other_spend()
    {
        var store = new InMemorySpendStore();
        var keys = new[] { new SpendKey("global", 10m) };
        var a = (await store.TryReserveAsync(keys, 3m, Day, default)).Reservation!;
        var b = (await store.TryReserveAsync(keys, 4m, Day, default)).Reservation!;

        await store.SettleAsync(a, 2m, default);
        await store.ReleaseAsync(a, default);
        await store.SettleAsync(a, 9m, default);

        Assert.Equal(6m, await store.GetSpendAsync("global", Day, default));
        await store.ReleaseAsync(b, default);
        Assert.Equal(2m, await store.GetSpendAsync("global", Day, default));
    }

    [Fact]
    public async Task A_key_named_twice_is_charged_once()
    {
        var store = new InMemorySpendStore();

        var result = await store.TryReserveAsync([new SpendKey("global", 5m), new SpendKey("global", 5m)], 3m, Day, default);

        Assert.NotNull(result.Reservation);
        Assert.Equal(3m, await store.GetSpendAsync("global", Day, default));
    }

    [Fact]
    public async Task The_first_key_without_room_is_named_and_nothing_is_reserved()
    {
        var store = new InMemorySpendStore();
        await store.TryReserveAsync([new SpendKey("user:a", 5m)], 4m, Day, default);

        var result = await store.TryReserveAsync([new SpendKey("global", 100m), new SpendKey("user:a", 5m)], 2m, Day, default);

        Assert.Null(result.Reservation);
        Assert.Equal(new SpendKey("user:a", 5m), result.ExceededKey);
        Assert.Equal(4m, result.SpentUsd);
        Assert.Equal(0m, await store.GetSpendAsync("global", Day, default));
    }

    [Fact]
    public async Task Negative_amounts_are_misuse()
    {
        var store = new InMemorySpendStore();
        var reservation = (await store.TryReserveAsync([new SpendKey("global", 5m)], 1m, Day, default)).Reservation!;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryReserveAsync([new SpendKey("global", 5m)], -1m, Day, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.SettleAsync(reservation, -1m, default));
    }

    [Fact]
    public async Task Days_before_yesterday_are_forgotten_and_late_settlements_of_them_change_nothing()
    {
        var store = new InMemorySpendStore();
        var old = (await store.TryReserveAsync([new SpendKey("global", 5m)], 1m, Day, default)).Reservation!;
        await store.TryReserveAsync([new SpendKey("global", 5m)], 1m, Day.AddDays(1), default);
        Assert.Equal(1m, await store.GetSpendAsync("global", Day, default));

        await store.TryReserveAsync([new SpendKey("global", 5m)], 1m, Day.AddDays(2), default);
        await store.SettleAsync(old, 3m, default);

        Assert.Equal(0m, await store.GetSpendAsync("global", Day, default));
        Assert.Equal(1m, await store.GetSpendAsync("global", Day.AddDays(2), default));
    }

    /// <summary>Concurrent reserve, settle and release on many threads leave exactly the settled amounts.</summary>
    [Fact]
    public void Concurrent_operations_leave_exactly_the_settled_total_and_never_overbook()
    {
        var op = from reserve in Gen.Choose(0, 500) from actual in Gen.Choose(0, 700) from settle in Gen.Elements(true, false) select (reserve, actual, settle);
        var gen = Gen.Zip(Gen.Choose(0, 3000), Gen.ListOf(op).Select(static l => l.Take(60).ToArray()));
        Properties.ForAll(gen, input =>
        {
            var (limitUnits, ops) = input;
            var limit = limitUnits / 100m;
            var store = new InMemorySpendStore();
            var keys = new[] { new SpendKey("global", limit) };
            var settled = new decimal[ops.Length];

            Parallel.ForEachAsync(Enumerable.Range(0, ops.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var (reserve, actual, settle) = ops[i];
                var result = await store.TryReserveAsync(keys, reserve / 100m, Day, ct);
                if (result.Reservation is not { } reservation)
                {
                    Assert.True(result.SpentUsd + (reserve / 100m) > limit);
                    return;
                }

                Assert.True(await store.GetSpendAsync("global", Day, ct) <= limit + (ops.Sum(static o => o.Item2) / 100m));
                if (settle)
                {
                    await store.SettleAsync(reservation, actual / 100m, ct);
                    settled[i] = actual / 100m;
                }
                else
                {
                    await store.ReleaseAsync(reservation, ct);
                }
            }).GetAwaiter().GetResult();

            Assert.Equal(settled.Sum(), store.GetSpendAsync("global", Day, default).AsTask().GetAwaiter().GetResult());
        });
    }
}
