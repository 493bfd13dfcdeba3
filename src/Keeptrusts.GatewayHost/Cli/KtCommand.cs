using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using Keeptrusts.GatewayHost.Cli.Audit;
using Keeptrusts.GatewayHost.Cli.Doctor;
using Keeptrusts.GatewayHost.Cli.Events;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Cli.Policy;

namespace Keeptrusts.GatewayHost.Cli;

/// <summary>
/// The root of the <c>kt</c> command tree. Each command group (<c>policy</c>, <c>audit</c>, <c>gateway</c>,
/// <c>doctor</c>) is its own <see cref="Command"/> class added here, so groups stay independent.
/// </summary>
internal sealed partial class KtCommand : RootCommand
{
    public KtCommand(KtConsole console)
        : base("Keeptrusts policy enforcement for LLM traffic: lint policy-config.yaml files and run the gateway.")
    {
        ArgumentNullException.ThrowIfNull(console);
        foreach (var option in Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new PrintVersionAction();
            }
        }

        Subcommands.Add(new PolicyCommand(console));
        Subcommands.Add(new AuditCommand(console));
        Subcommands.Add(new GatewayCommand(console));
        Subcommands.Add(new DoctorCommand(console));
        Subcommands.Add(new EventsCommand(console));
    }

    /// <summary>
    /// Parses and runs a command line. Usage errors and unexpected exceptions become one line on standard error
    /// and exit code 2; a stack trace never reaches the user.
    /// </summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, KtConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        try
        {
            var parseResult = new KtCommand(console).Parse(args);
            if (parseResult.Action is ParseErrorAction)
            {
                await console.Error.WriteLineAsync(DescribeUsageError(parseResult)).ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }

            var invocation = new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,

                // The gateway handles SIGTERM/SIGINT itself and drains for up to its shutdown timeout; the stock
                // handler would end the process two seconds after the signal.
                ProcessTerminationTimeout = null,
            };
            return await parseResult.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("kt: cancelled").ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }
#pragma warning disable CA1031 // The process boundary: any failure must end as one line and an exit code, never a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await console.Error.WriteLineAsync(OneLine($"kt: error: unexpected {ex.GetType().Name}: {ex.Message}")).ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }
    }

    /// <summary>Collapses a message to a single line, so every problem is exactly one line on standard error.</summary>
    public static string OneLine(string text) => Whitespace().Replace(text, " ");

    private static string DescribeUsageError(ParseResult parseResult)
    {
        var messages = string.Join("; ", parseResult.Errors.Select(static e => e.Message.TrimEnd('.')).Distinct(StringComparer.Ordinal));
        return OneLine($"kt: error: {messages} (see '{CommandPath(parseResult.CommandResult)} --help')");
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is not null; current = current.Parent)
        {
            if (current is CommandResult command)
            {
                names.Add(command.Command is RootCommand ? "kt" : command.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    [GeneratedRegex(@"[\t\r\n]+\s*|\s*[\t\r\n]+")]
    private static partial Regex Whitespace();

    /// <summary>Prints the version of this assembly; the stock action reads the entry assembly, which is a test host under test.</summary>
    private sealed class PrintVersionAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(KtVersion.Informational);
            return ExitCodes.Success;
        }
    }
}
