using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.Tests.ChatClient;

/// <summary>A chat client double whose behaviour is a callback; it keeps the messages it was called with.</summary>
internal sealed class TestChatClient : IChatClient
{
    public List<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, ChatResponse>? GetResponseCallback { get; set; }

    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, IEnumerable<ChatResponseUpdate>>? GetStreamingResponseCallback { get; set; }

    public ChatClientMetadata Metadata { get; set; } = new("test", defaultModelId: "test-model");

    /// <summary>Answers with the text of the last user message.</summary>
    public static TestChatClient Echo(Func<string, string>? answer = null) => new()
    {
        GetResponseCallback = (messages, _) => new ChatResponse(new ChatMessage(ChatRole.Assistant, (answer ?? (s => s))(LastUser(messages))))
        {
            ModelId = "test-model",
            Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 4 },
        },
        GetStreamingResponseCallback = (messages, _) => Updates((answer ?? (s => s))(LastUser(messages)), [5]),
    };

    public static string LastUser(IReadOnlyList<ChatMessage> messages) => messages.Last(m => m.Role == ChatRole.User).Text;

    /// <summary>The text cut into updates of the given sizes (cycled), then a finish update with usage.</summary>
    public static IEnumerable<ChatResponseUpdate> Updates(string text, int[] sizes)
    {
        var i = 0;
        var k = 0;
        while (i < text.Length)
        {
            var end = Math.Min(text.Length, i + Math.Max(1, sizes[k++ % sizes.Length]));
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, text[i..end]) { ResponseId = "r1", MessageId = "m1", ModelId = "test-model" };
            i = end;
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 3, OutputTokenCount = 4 })])
        {
            ResponseId = "r1",
            FinishReason = ChatFinishReason.Stop,
        };
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Add((list, options));
        return Task.FromResult(GetResponseCallback!(list, options));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Add((list, options));
        foreach (var update in GetStreamingResponseCallback!(list, options))
        {
            await Task.Yield();
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(Metadata) ? Metadata : serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
