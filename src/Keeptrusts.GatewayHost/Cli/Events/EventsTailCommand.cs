using System.CommandLine;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.Cli.Events;

/// <summary><c>kt events tail [--interval 2] [--gateway-name n] [--format table|json]</c>: prints new events until Ctrl+C.</summary>
internal sealed class EventsTailCommand : Command
{
    private readonly KtConsole _console;

    private readonly Option<double> _interval = new("--interval")
    {
        Description = "Seconds between polls.",
        HelpName = "seconds",
        DefaultValueFactory = static _ => 2,
    };

    private readonly Option<string> _format = EventsCommand.FormatOption();
    private readonly Option<string> _gatewayName = EventsCommand.GatewayNameOption();
    private readonly Option<string> _token = EventsCommand.TokenOption();

    public EventsTailCommand(KtConsole console)
        : base("tail", "Follow new decision events from the control plane until interrupted.")
    {
        _console = console;
        _format.AcceptOnlyFromAmong("table", "json");
        _interval.Validators.Add(static r =>
        {
            if (r.GetValueOrDefault<double>() is < 0.1 or > 3600)
            {
                r.AddError("--interval must be from 0.1 to 3600 seconds");
            }
        });
        foreach (var option in new Option[] { _interval, _gatewayName, _format, _token })
        {
            Options.Add(option);
        }

        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var (client, problem) = EventsCommand.Client(_console, EventsCommand.NonEmpty(parse.GetValue(_token)), http);
        if (client is null)
        {
            await _console.Error.WriteLineAsync("kt: error: " + problem).ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }

        var json = parse.GetRequiredValue(_format) == "json";
        var gateway = EventsCommand.NonEmpty(parse.GetValue(_gatewayName));
        var interval = TimeSpan.FromSeconds(parse.GetValue(_interval));

        // Start at the end: what arrives from now on.
        string? cursor = null;
        var since = "0s";
        var failing = false;
        if (!json)
        {
            await _console.Out.WriteLineAsync(EventsCommand.Header).ConfigureAwait(false);
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var answer = await client.GetAsync(EventsCommand.Query(cursor is null ? since : null, 1000, gateway, cursor), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                if (answer.Ok && EventsCommand.Read(answer.Json) is { } page)
                {
                    if (failing)
                    {
                        await _console.Error.WriteLineAsync("kt: the control plane answers again").ConfigureAwait(false);
                        failing = false;
                    }

                    foreach (var e in page.Events)
                    {
                        await _console.Out.WriteLineAsync(json ? JsonSerializer.Serialize(e) : EventsCommand.Row(e)).ConfigureAwait(false);
                    }

                    await _console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
                    cursor = page.NextCursor ?? cursor;
                    if (page.Events.Count == 1000)
                    {
                        continue;
                    }
                }
                else if (answer.Status is 401 or 403)
                {
                    await _console.Error.WriteLineAsync(KtCommand.OneLine($"kt: error: reading events failed: {answer.Failure} (the token needs events:read)")).ConfigureAwait(false);
                    return ExitCodes.Findings;
                }
                else if (!failing)
                {
                    // Keep following through an outage; say so once.
                    await _console.Error.WriteLineAsync(KtCommand.OneLine($"kt: reading events failed ({answer.Failure ?? "unexpected answer"}); retrying every {interval.TotalSeconds:0.#} s")).ConfigureAwait(false);
                    failing = true;
                }

                await Task.Delay(interval, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return ExitCodes.Success;
    }
}
