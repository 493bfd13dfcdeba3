using Keeptrusts.HttpHandler;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>The official OpenAI client over an HttpClient with <see cref="KeeptrustsPolicyHandler"/> and the echo behind it.</summary>
internal sealed class HandlerSurface : ISurface
{
    private readonly RecordingSink _sink = new();
    private readonly Dictionary<string, (PolicyEngine Engine, HttpClient Http, EchoProvider Echo)> _clients = [];

    public string Name => "httpclient handler";

    public async Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken)
    {
        if (!_clients.TryGetValue(testCase.Config, out var client))
        {
            var engine = Configs.Engine(testCase.Config, _sink);
            var echo = new EchoProvider();
            _clients[testCase.Config] = client = (engine, new HttpClient(new KeeptrustsPolicyHandler(engine) { InnerHandler = echo }), echo);
        }

        client.Echo.Chunks = chunks ?? [1000];
        _sink.Take();
        var outcome = await OpenAISdk.RunAsync(OpenAISdk.Client(client.Http, new Uri("http://echo.local/v1")), testCase, chunks is not null, cancellationToken);
        var records = _sink.Take();
        var blocked = records.FirstOrDefault(r => r.Decision == PolicyDecision.Block);
        return outcome with
        {
            Records = records,
            Blocked = blocked is null ? outcome.Blocked : blocked.Phase == PolicyPhase.Input ? BlockedAt.Input : BlockedAt.Output,
            PhaseKnown = true,
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (engine, http, _) in _clients.Values)
        {
            http.Dispose();
            await engine.DisposeAsync();
        }
    }
}
