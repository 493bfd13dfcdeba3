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
    /// <summary>Standard input, for commands that read '-' as a file.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Whether standard error is a terminal a person watches, so progress lines are worth printing.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Reads an environment variable; tests give each run its own environment.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Whether this is the kt process itself, so commands may take over process signals (SIGHUP, SIGTERM).</summary>
    public bool OwnsProcess { get; init; }

    public static KtConsole FromProcess() => new(Console.Out, Console.Error, Environment.CurrentDirectory)
    {
        In = Console.In,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        OwnsProcess = true,
    };
}
