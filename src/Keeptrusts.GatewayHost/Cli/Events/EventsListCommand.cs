using System.CommandLine;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.Cli.Events;

/// <summary><c>kt events list [--since 1h] [--limit 20] [--gateway-name n] [--format table|json]</c>.</summary>
internal sealed class EventsListCommand : Command
{
    private readonly KtConsole _console;

    private readonly Option<string> _since = new("--since")
    {
        Description = "How far back: a duration (30s, 5m, 1h, 2d) or an RFC 3339 time.",
        HelpName = "duration|time",
        DefaultValueFactory = static _ => "1h",
    };

    private readonly Option<int> _limit = new("--limit")
    {
        Description = "The most events to show (1 to 1000).",
        HelpName = "n",
        DefaultValueFactory = static _ => 20,
    };

    private readonly Option<string> _format = EventsCommand.FormatOption();
    private readonly Option<string> _gatewayName = EventsCommand.GatewayNameOption();
    private readonly Option<string> _token = EventsCommand.TokenOption();

    public EventsListCommand(KtConsole console)
        : base("list", "List recent decision events from the control plane.")
    {
        _console = console;
        _format.AcceptOnlyFromAmong("table", "json");
        _limit.Validators.Add(static r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                r.AddError("--limit must be from 1 to 1000");
            }
        });
        foreach (var option in new Option[] { _since, _limit, _gatewayName, _format, _token })
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

        var query = EventsCommand.Query(parse.GetRequiredValue(_since), parse.GetValue(_limit), EventsCommand.NonEmpty(parse.GetValue(_gatewayName)), null);
        using var answer = await client.GetAsync(query, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (!answer.Ok || EventsCommand.Read(answer.Json) is not { } page)
        {
            var detail = answer.Json is { } json && json.RootElement.TryGetProperty("error", out var error) && ControlPlane.ControlPlaneClient.String(error, "message") is { } message ? $": {message}" : string.Empty;
            await _console.Error.WriteLineAsync(KtCommand.OneLine($"kt: error: reading events failed: {answer.Failure ?? "the answer has no events array"}{detail}")).ConfigureAwait(false);
            return ExitCodes.Findings;
        }

        if (parse.GetRequiredValue(_format) == "json")
        {
            await _console.Out.WriteLineAsync(JsonSerializer.Serialize(page.Events)).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        if (page.Events.Count == 0)
        {
            await _console.Out.WriteLineAsync($"no events since {parse.GetRequiredValue(_since)}").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        await _console.Out.WriteLineAsync(EventsCommand.Header).ConfigureAwait(false);
        foreach (var e in page.Events)
        {
            await _console.Out.WriteLineAsync(EventsCommand.Row(e)).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }
}
