using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>The core chain driven directly: exchange, request body, echo, response body or chunk stream guard.</summary>
internal sealed class CoreSurface : ISurface
{
    private readonly RecordingSink _sink = new();
    private readonly Dictionary<string, PolicyEngine> _engines = [];

    public string Name => "core";

    public async Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken)
    {
        var engine = Engine(testCase.Config);
        _sink.Take();
        var exchange = engine.BeginExchange();
        await using (exchange)
        {
            var input = await exchange.EvaluateRequestAsync(Wire.Request(testCase, chunks is not null), cancellationToken);
            if (input.IsBlocked)
            {
                return new Outcome { Blocked = BlockedAt.Input, BlockedBy = input.Record.BlockedBy, Status = input.Record.Status ?? 400, Records = _sink.Take() };
            }

            var echo = Wire.LastUser(input.Body.Span);
            if (chunks is null)
            {
                var output = await exchange.EvaluateResponseAsync(Encoding.UTF8.GetBytes(Wire.Completion(echo)), cancellationToken);
                if (output.IsBlocked)
                {
                    return new Outcome { Blocked = BlockedAt.Output, BlockedBy = output.Record.BlockedBy, Status = output.Record.Status ?? 400, Records = _sink.Take() };
                }

                var answer = JsonNode.Parse(output.Body.Span)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
                return new Outcome { Answer = answer, Records = _sink.Take() };
            }

            var guard = new OpenAIStreamGuard(exchange);
            var text = new StringBuilder();
            foreach (var chunk in Wire.Chunks(echo, chunks))
            {
                var step = await guard.ProcessAsync(Encoding.UTF8.GetBytes(chunk), cancellationToken);
                if (step.Blocked is { } blocked)
                {
                    return new Outcome { Blocked = BlockedAt.Output, BlockedBy = blocked.BlockedBy, Records = _sink.Take() };
                }

                Append(text, step);
            }

            var last = await guard.CompleteAsync(cancellationToken);
            if (last.Blocked is { } blockedAtEnd)
            {
                return new Outcome { Blocked = BlockedAt.Output, BlockedBy = blockedAtEnd.BlockedBy, Records = _sink.Take() };
            }

            Append(text, last);
            return new Outcome { Answer = text.ToString(), Records = _sink.Take() };
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines.Values)
        {
            await engine.DisposeAsync();
        }
    }

    private static void Append(StringBuilder text, ChunkStep step)
    {
        foreach (var payload in step.Emit)
        {
            if (JsonNode.Parse(payload.Span)?["choices"] is JsonArray choices)
            {
                foreach (var choice in choices)
                {
                    text.Append(choice?["delta"]?["content"]?.GetValue<string>());
                }
            }
        }
    }

    private PolicyEngine Engine(string config)
    {
        if (!_engines.TryGetValue(config, out var engine))
        {
            _engines[config] = engine = Configs.Engine(config, _sink);
        }

        return engine;
    }
}
