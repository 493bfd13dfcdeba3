namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>Upper bounds on every wait that talks to a socket, so no test can hang.</summary>
internal static class Patience
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static CancellationToken Token() => new CancellationTokenSource(Limit).Token;

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Limit);

    public static Task Within(this Task task) => task.WaitAsync(Limit);
}
