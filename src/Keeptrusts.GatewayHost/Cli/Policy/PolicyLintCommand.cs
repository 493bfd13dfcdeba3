using System.CommandLine;
using Keeptrusts.GatewayHost.Cli.Policy.Lint;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.GatewayHost.Cli.Policy;

/// <summary>
/// <c>kt policy lint --file a.yaml [--file b.yaml ...] [--format text|json|sarif]</c>: loads the files as the
/// gateway would (layered, the later file wins) and reports every finding at once. Exit code 0 when there are no
/// errors, 1 when there are, 2 when a file cannot be read at all.
/// </summary>
internal sealed class PolicyLintCommand : Command
{
    private readonly KtConsole _console;

    private readonly Option<string[]> _files = new("--file", "-f")
    {
        Description = "A policy-config.yaml file. Repeat to layer files; the later file wins.",
        HelpName = "path",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
        // Lets a shell glob such as 'kt policy lint -f configs/*.yaml' pass every match after one flag.
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<string> _format = new("--format")
    {
        Description = "Output format: text (compiler-style lines), json (an array of findings) or sarif (SARIF 2.1.0 for code scanning).",
        HelpName = "text|json|sarif",
        DefaultValueFactory = static _ => "text",
    };

    public PolicyLintCommand(KtConsole console)
        : base("lint", "Check policy-config.yaml files and report every problem, without starting the gateway.")
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _format.AcceptOnlyFromAmong("text", "json", "sarif");
        _files.Validators.Add(static result =>
        {
            // With several values per flag, an unknown option after the files would otherwise be read as a file name.
            foreach (var token in result.Tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-')
                {
                    result.AddError($"Unrecognized option '{token.Value}' (to lint a file whose name starts with '-', write ./{token.Value})");
                }
            }
        });
        Options.Add(_files);
        Options.Add(_format);
        SetAction(Execute);
    }

    private int Execute(ParseResult parseResult)
    {
        var files = parseResult.GetRequiredValue(_files);
        var format = Enum.Parse<LintFormat>(parseResult.GetRequiredValue(_format), ignoreCase: true);
        var result = PolicyConfigLoader.LoadFiles(files);

        // A file that cannot be opened is a problem with the command line, not a finding about a configuration.
        var unreadable = result.Diagnostics.Where(static d => d.Code is DiagnosticCodes.FileNotFound or DiagnosticCodes.FileUnreadable).ToList();
        if (unreadable.Count > 0)
        {
            foreach (var problem in unreadable)
            {
                _console.Error.WriteLine(KtCommand.OneLine("kt: error: " + DescribeUnreadable(problem)));
            }

            return ExitCodes.UsageOrIo;
        }

        ILintWriter writer = format switch
        {
            LintFormat.Json => new JsonLintWriter(),
            LintFormat.Sarif => new SarifLintWriter(),
            _ => new TextLintWriter(),
        };
        writer.Write(new LintReport(result.Diagnostics, files, _console.WorkingDirectory), _console.Out);
        return result.HasErrors ? ExitCodes.Findings : ExitCodes.Success;
    }

    private static string DescribeUnreadable(ConfigDiagnostic problem)
    {
        var file = problem.Location.File;
        if (problem.Code == DiagnosticCodes.FileNotFound)
        {
            return Directory.Exists(file) ? $"not a file (it is a directory): {file}" : $"file not found: {file}";
        }

        const string Prefix = "cannot read the file: ";
        var reason = problem.Message.StartsWith(Prefix, StringComparison.Ordinal) ? problem.Message[Prefix.Length..] : problem.Message;
        return $"cannot read {file}: {reason}";
    }
}
