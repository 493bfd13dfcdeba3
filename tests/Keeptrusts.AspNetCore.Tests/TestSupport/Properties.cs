using FsCheck;
using FsCheck.Fluent;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>Runs FsCheck properties from plain xunit facts, failing the test with the counterexample.</summary>
internal static class Properties
{
    public static void ForAll<T>(Gen<T> generator, Action<T> assertion, int maxTest = 100)
    {
        var config = Config.QuickThrowOnFailure.WithMaxTest(maxTest);
        Check.One(config, Prop.ForAll(generator.ToArbitrary(), assertion));
    }

    /// <summary>An asynchronous assertion, run off the test's synchronization context.</summary>
    public static void ForAllAsync<T>(Gen<T> generator, Func<T, Task> assertion, int maxTest = 100) =>
        ForAll(generator, input => Task.Run(() => assertion(input)).WaitAsync(Patience.Limit).GetAwaiter().GetResult(), maxTest);
}
