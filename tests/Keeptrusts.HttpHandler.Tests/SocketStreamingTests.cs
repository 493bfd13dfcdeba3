using System.ClientModel;
using System.ClientModel.Primitives;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using OpenAI;
using OpenAI.Chat;

namespace Keeptrusts.HttpHandler.Tests;

/// <summary>End to end over a real socket: the guarded stream reaches the caller while the provider is still writing.</summary>
public class SocketStreamingTests
{
    [Fact]
    public async Task Answers_stream_through_as_they_arrive_instead_of_being_buffered()
    {
        var first = string.Concat(Enumerable.Repeat("This part of the answer is safe to show. ", 4));
        var stream = FakeProvider.OpenAIStream(first + "and then write to zoe@example.com please", [first.Length, 1000]);
        var cut = stream.IndexOf("\n\n", StringComparison.Ordinal) + 2;
        await using var provider = new SocketProvider([stream[..cut], stream[cut..]]);
        using var http = new HttpClient(new KeeptrustsPolicyHandler(Policies.Engine()) { InnerHandler = new SocketsHttpHandler() });
        var client = new ChatClient("gpt-test", new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = new Uri(provider.BaseAddress, "v1"),
            Transport = new HttpClientPipelineTransport(http),
            NetworkTimeout = TimeSpan.FromSeconds(15),
        });
        var updates = new List<string>();

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")], cancellationToken: provider.Timeout))
        {
            var text = string.Concat(update.ContentUpdate.Select(p => p.Text));
            if (text.Length > 0 && updates.Count == 0)
            {
                // The provider has written only its first chunk: what arrived here came through before the rest exists.
                provider.Continue();
            }

            updates.Add(text);
        }

        Assert.StartsWith("This part of the answer is safe to show.", updates[0], StringComparison.Ordinal);
        Assert.Equal(first + "and then write to [REDACTED:EMAIL_ADDRESS] please", string.Concat(updates));
        Assert.Contains("\"stream\":true", await provider.Received.Task.WaitAsync(provider.Timeout), StringComparison.Ordinal);
    }
}
