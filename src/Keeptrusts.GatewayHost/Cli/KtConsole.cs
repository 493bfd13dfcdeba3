namespace Keeptrusts.GatewayHost.Cli;

/// <summary>
/// Where a command writes and which directory it treats as current. Commands never touch <see cref="Console"/>
/// directly, so the whole tree runs in-process under test with captured output.
/// </summary>
/// <param name="Out">Results: findings, reports, version and help.</param>
/// <param name="Error">Usage and I/O problems, one line each.</param>
/// <param name="WorkingDirectory">The directory output paths are made relative to (SARIF artifact URIs).</param>
internal sealed record KtConsole(TextWriter Out, TextWriter Error, string WorkingDirectory)
{
    public static KtConsole FromProcess() => new(Console.Out, Console.Error, Environment.CurrentDirectory);
}
