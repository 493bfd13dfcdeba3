using System.Reflection;

namespace Keeptrusts.GatewayHost.Cli;

/// <summary>The version of <c>kt</c> itself, read from this assembly rather than the entry assembly (a test host in tests).</summary>
internal static class KtVersion
{
    public static string Informational { get; } =
        typeof(KtVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(KtVersion).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0";
}
