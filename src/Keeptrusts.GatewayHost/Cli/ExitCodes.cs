namespace Keeptrusts.GatewayHost.Cli;

/// <summary>Process exit codes shared by every <c>kt</c> command, so scripts and CI can branch on them.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked; lint found no errors (warnings allowed).</summary>
    public const int Success = 0;

    /// <summary>The command ran and found errors in its input, such as lint errors in a configuration.</summary>
    public const int Findings = 1;

    /// <summary>The command could not run: bad arguments, a file that is missing or unreadable, or an unexpected failure.</summary>
    public const int UsageOrIo = 2;
}
