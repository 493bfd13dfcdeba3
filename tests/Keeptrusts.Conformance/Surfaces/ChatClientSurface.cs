using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Providers.ChatClient;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>The <see cref="KeeptrustsChatClient"/> decorator over an echo <see cref="IChatClient"/>.</summary>
internal sealed class ChatClientSurface : ISurface
{
    private readonly RecordingSink _sink = new();
    private readonly Dictionary<string, PolicyEngine> _engines = [];

    public string Name => "ichatclient decorator";

    public async Task<Outcome> RunAsync(ConformanceCase testCase, int[]? chunks, CancellationToken cancellationToken)
    {
        if (!_engines.TryGetValue(testCase.Config, out var engine))
        {
            _engines[testCase.Config] = engine = Configs.Engine(testCase.Config, _sink);
        }

        _sink.Take();
        var client = new EchoChatClient(chunks ?? [1000]).UseKeeptrusts(engine: engine);
        var messages = testCase.Messages.Select(m => m.Role switch
        {
            "assistant" => new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(Wire.ToolCallId, Wire.ToolName, JsonSerializer.Deserialize<Dictionary<string, object?>>(m.Text))]),
            "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(Wire.ToolCallId, m.Text)]),
            _ => new ChatMessage(new ChatRole(m.Role), m.Text),
        }).ToList();

        ChatOptions? options = testCase.Tools.Count == 0 ? null : new ChatOptions
        {
            Tools = [.. testCase.Tools.Select(static name => (AITool)AIFunctionFactory.CreateDeclaration(name, null, JsonDocument.Parse(Wire.ToolParameters).RootElement))],
        };
        var text = new StringBuilder();
        try
        {
            if (chunks is null)
            {
                text.Append((await client.GetResponseAsync(messages, options, cancellationToken)).Text);
            }
            else
            {
                await foreach (var update in client.GetStreamingResponseAsync(messages, options, cancellationToken))
                {
                    text.Append(update.Text);
                }
            }
        }
        catch (KeeptrustsPolicyException ex)
        {
            var at = ex.Decision.Phase == PolicyPhase.Input ? BlockedAt.Input : BlockedAt.Output;
            return new Outcome { Blocked = at, BlockedBy = ex.PolicyId, Status = chunks is null || at == BlockedAt.Input ? ex.Decision.Status ?? 400 : null, Answer = text.ToString(), Records = _sink.Take() };
        }

        return new Outcome { Answer = text.ToString(), Records = _sink.Take() };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines.Values)
        {
            await engine.DisposeAsync();
        }
    }

    private sealed class EchoChatClient(int[] chunks) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, LastUser(messages))));

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var delta in Wire.Cut(LastUser(messages), chunks))
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, delta);
            }

            yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop };
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }

        private static string LastUser(IEnumerable<ChatMessage> messages) => messages.Last(m => m.Role == ChatRole.User).Text;
    }
}
