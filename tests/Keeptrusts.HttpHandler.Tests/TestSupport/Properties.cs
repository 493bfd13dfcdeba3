using FsCheck;
using FsCheck.Fluent;

namespace Keeptrusts.HttpHandler.Tests.TestSupport;

/// <summary>Runs FsCheck properties from plain xunit facts, failing the test with the counterexample.</summary>
internal static class Properties
{
    public static void ForAll<T>(Gen<T> generator, Action<T> assertion, int maxTest = 100)
    {
        var config = Config.QuickThrowOnFailure.WithMaxTest(maxTest);
        Check.One(config, Prop.ForAll(generator.ToArbitrary(), assertion));
    }
}
