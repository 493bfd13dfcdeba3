using FsCheck;
using FsCheck.Fluent;

namespace Keeptrusts.Providers.Tests.TestSupport;

/// <summary>Runs an FsCheck property from a plain xunit fact; a counterexample fails the test with FsCheck's report.</summary>
internal static class Properties
{
    public static void ForAll<T>(Gen<T> generator, Func<T, bool> property, int maxTest = 200)
        => Prop.ForAll(generator.ToArbitrary(), property).Check(Config.QuickThrowOnFailure.WithMaxTest(maxTest));
}
