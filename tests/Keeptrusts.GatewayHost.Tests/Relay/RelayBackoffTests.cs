using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.GatewayHost.Relay;

namespace Keeptrusts.GatewayHost.Tests.Relay;

public sealed class RelayBackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    [InlineData(4, 16)]
    [InlineData(5, 30)]
    [InlineData(6, 30)]
    [InlineData(30, 30)]
    [InlineData(int.MaxValue, 30)]
    public void Doubles_from_one_second_to_thirty_without_jitter(int failures, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), RelayBackoff.Delay(failures, Initial, Max, jitter: 0.2, random: 0));
    }

    [Fact]
    public void Jitter_adds_at_most_twenty_percent_and_never_takes_away()
    {
        var failures = Gen.Choose(0, 40);
        var random = Gen.Choose(0, 999_999).Select(static n => n / 1_000_000.0);
        Prop.ForAll(Gen.Zip(failures, random).ToArbitrary(), static pair =>
        {
            var (n, r) = pair;
            var floor = RelayBackoff.Delay(n, Initial, Max, 0.2, 0);
            var delay = RelayBackoff.Delay(n, Initial, Max, 0.2, r);
            var next = RelayBackoff.Delay(n + 1, Initial, Max, 0.2, 0);
            return delay >= floor
                && delay.Ticks <= floor.Ticks * 1.2
                && delay <= Max * 1.2
                && floor >= Initial
                && next >= floor;
        }).QuickCheckThrowOnFailure();
    }
}
