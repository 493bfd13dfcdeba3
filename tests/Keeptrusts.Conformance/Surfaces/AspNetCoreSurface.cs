using Keeptrusts.AspNetCore;
using Keeptrusts.Policy.Evaluation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>
/// The ASP.NET Core gateway endpoints (<c>AddKeeptrustsGateway</c> + <c>MapKeeptrustsGateway</c>) in this process, on
/// Kestrel at 127.0.0.1, in front of the echo upstream; the official OpenAI client for plain answers, the raw stream
/// for streamed ones. One app per configuration.
/// </summary>
internal sealed class AspNetCoreSurface(EchoUpstream upstream) : ISurface
{
    private readonly RecordingSink _sink = new();
    private readonly Dictionary<string, (WebApplication App, HttpClient Http)> _apps = [];

    public string Name => "aspnetcore gateway";

    public async Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken)
    {
        var (_, http) = await AppAsync(testCase.Config, cancellationToken);
        upstream.Chunks = chunks ?? [1000];
        _sink.Take();
        var outcome = chunks is null
            ? await OpenAISdk.RunAsync(OpenAISdk.Client(http, new Uri(http.BaseAddress!, "v1")), testCase, stream: false, cancellationToken)
            : await RawSse.RunAsync(http, testCase, cancellationToken);

        // Records may be published as the response completes: wait (bounded) for the exchange's records.
        var expected = testCase.Blocked == BlockedAt.Input ? 1 : 2;
        var records = new List<DecisionRecord>();
        for (var i = 0; i < 100 && records.Count < expected; i++)
        {
            records.AddRange(_sink.Take());
            if (records.Count < expected)
            {
                await Task.Delay(20, cancellationToken);
            }
        }

        var blocked = records.FirstOrDefault(r => r.Decision == PolicyDecision.Block);
        return outcome with
        {
            Records = records,
            Blocked = blocked is null ? outcome.Blocked : blocked.Phase == PolicyPhase.Input ? BlockedAt.Input : BlockedAt.Output,
            BlockedBy = outcome.BlockedBy ?? blocked?.BlockedBy,
            PhaseKnown = blocked is not null || outcome.PhaseKnown,
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (app, http) in _apps.Values)
        {
            http.Dispose();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await app.StopAsync(stop.Token);
            await app.DisposeAsync();
        }
    }

    private async Task<(WebApplication, HttpClient)> AppAsync(string config, CancellationToken cancellationToken)
    {
        if (_apps.TryGetValue(config, out var existing))
        {
            return existing;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddKeeptrustsGateway(o => o.ConfigYaml = Configs.WithUpstream(config, upstream.BaseUrl)).AddDecisionSink(_sink);
        var app = builder.Build();
        app.MapKeeptrustsGateway();
        await app.StartAsync(cancellationToken);
        var http = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        _apps[config] = (app, http);
        return (app, http);
    }
}
