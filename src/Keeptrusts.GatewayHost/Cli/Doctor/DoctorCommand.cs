using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Keeptrusts.GatewayHost.Cli.Gateway;

namespace Keeptrusts.GatewayHost.Cli.Doctor;

/// <summary>
/// <c>kt doctor [--policy-config F ...] [--format text|json] [--timeout seconds]</c>: checks that a gateway could
/// start and serve here — configuration, policy chain, provider credentials, upstream, control plane and Valkey
/// reachability — without sending a billed request. Exit code 0 when nothing failed (warnings allowed), 1 when a
/// check failed, so it serves as a container health check.
/// </summary>
internal sealed class DoctorCommand : Command
{
    private readonly KtConsole _console;

    private readonly Option<string[]> _configs = new("--policy-config", "--config", "-c")
    {
        Description = "The configuration to check; repeat to layer files. Default: policy-config.yaml in the current directory.",
        HelpName = "path",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string> _format = new("--format")
    {
        Description = "Output format: text (one line per check) or json.",
        HelpName = "text|json",
        DefaultValueFactory = static _ => "text",
    };

    private readonly Option<double> _timeout = new("--timeout")
    {
        Description = "Seconds each network check may take. Default 3.",
        HelpName = "seconds",
        DefaultValueFactory = static _ => 3,
    };

    public DoctorCommand(KtConsole console)
        : base("doctor", "Check the configuration, credentials and reachability of providers, control plane and Valkey; exit 1 if anything fails.")
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _format.AcceptOnlyFromAmong("text", "json");
        _timeout.Validators.Add(static result =>
        {
            if (result.GetValueOrDefault<double>() is var t && (t <= 0 || t > 600 || double.IsNaN(t)))
            {
                result.AddError($"--timeout must be more than 0 and at most 600 seconds, found {t.ToString(CultureInfo.InvariantCulture)}");
            }
        });
        Options.Add(_configs);
        Options.Add(_format);
        Options.Add(_timeout);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var files = parseResult.GetValue(_configs) ?? [];
        if (files.Length == 0 && Path.Combine(_console.WorkingDirectory, GatewayRunSettings.DefaultConfigFile) is var fallback && File.Exists(fallback))
        {
            files = [fallback];
        }

        var timeout = TimeSpan.FromSeconds(parseResult.GetRequiredValue(_timeout));
        using var handler = new SocketsHttpHandler { ConnectTimeout = timeout, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("kt-doctor/" + KtVersion.Informational.Split('+')[0]);
        var checks = await new DoctorChecks(_console.GetEnvironmentVariable, timeout, http).RunAsync(files, cancellationToken).ConfigureAwait(false);

        if (parseResult.GetRequiredValue(_format) == "json")
        {
            await WriteJsonAsync(checks).ConfigureAwait(false);
        }
        else
        {
            await WriteTextAsync(checks).ConfigureAwait(false);
        }

        return checks.Any(static c => c.Status == DoctorStatus.Fail) ? ExitCodes.Findings : ExitCodes.Success;
    }

    private async Task WriteTextAsync(IReadOnlyList<DoctorCheck> checks)
    {
        var width = checks.Max(static c => Label(c).Length);
        foreach (var check in checks)
        {
            await _console.Out.WriteLineAsync(KtCommand.OneLine($"{StatusName(check.Status),-4}  {Label(check).PadRight(width)}  {check.Detail}")).ConfigureAwait(false);
        }

        var ok = checks.Count(static c => c.Status == DoctorStatus.Ok);
        var warn = checks.Count(static c => c.Status == DoctorStatus.Warn);
        var fail = checks.Count(static c => c.Status == DoctorStatus.Fail);
        await _console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"doctor: {ok} ok, {warn} warn, {fail} fail")).ConfigureAwait(false);
    }

    private async Task WriteJsonAsync(IReadOnlyList<DoctorCheck> checks)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            var worst = checks.Count == 0 ? DoctorStatus.Ok : checks.Max(static c => c.Status);
            writer.WriteString("status", StatusName(worst));
            writer.WriteStartArray("checks");
            foreach (var check in checks)
            {
                writer.WriteStartObject();
                writer.WriteString("name", check.Name);
                if (check.Target is { } target)
                {
                    writer.WriteString("target", target);
                }

                writer.WriteString("status", StatusName(check.Status));
                writer.WriteString("detail", check.Detail);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await _console.Out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(stream.ToArray())).ConfigureAwait(false);
    }

    private static string Label(DoctorCheck check) => check.Target is null ? check.Name : $"{check.Name}[{check.Target}]";

    internal static string StatusName(DoctorStatus status) => status switch
    {
        DoctorStatus.Ok => "ok",
        DoctorStatus.Warn => "warn",
        _ => "fail",
    };
}
