using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.Valkey.Tests;

internal static class ValkeyTestKit
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>Generous timeouts, so a cold start on a busy machine never looks like an outage.</summary>
    public static ValkeyOptions Patient() => new() { CommandTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>A partition of its own per test, so tests sharing one server never see each other's keys.</summary>
    public static ValkeyKeyPartition NewPartition() => new("t", "o", "g-" + Guid.NewGuid().ToString("N")[..12]);

    public static ISharedStateBackend Connect(string url, ValkeyKeyPartition partition, List<SharedStateEvent>? events = null, TimeProvider? time = null, ValkeyOptions? options = null, FailMode spendFailMode = FailMode.Allow) =>
        ValkeySharedState.Connect(url, partition, options ?? Patient(), new SharedStateOptions
        {
            TimeProvider = time ?? TimeProvider.System,
            SpendFailMode = spendFailMode,
            OnEvent = events is null ? null : e =>
            {
                lock (events)
                {
                    events.Add(e);
                }
            },
        });

    /// <summary>Waits, bounded, for something the client does on its own clock (reconnecting), which tests cannot drive.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"within {Bound.TotalSeconds} s: {what}");
            }

            await Task.Delay(50);
        }
    }
}
