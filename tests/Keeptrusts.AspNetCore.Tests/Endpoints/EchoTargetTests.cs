using System.ClientModel;
using System.Text;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using OpenAI.Chat;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class EchoTargetTests
{
    private const string EchoConfig = """
        pack: { name: echo-tests, version: 0.1.0 }
        policies:
          chain: [pii-detector, content-filter]
        policy:
          pii-detector: { action: redact }
          content-filter: { input: { deny_keywords: [project falcon] } }
        providers:
          targets:
            - id: echo
              provider: echo
              model: echo-1
        """;

    [Fact]
    public async Task The_official_client_gets_the_redacted_echo()
    {
        await using var gateway = await TestGateway.StartAsync(EchoConfig);

        ChatCompletion completion = await gateway.Chat("echo-1").CompleteChatAsync([new UserChatMessage("My card is 4111 1111 1111 1111, thanks")], cancellationToken: Patience.Token());

        Assert.Equal("My card is [REDACTED:CREDIT_CARD], thanks", completion.Content[0].Text);
    }

    [Fact]
    public async Task The_official_client_streams_the_redacted_echo()
    {
        await using var gateway = await TestGateway.StartAsync(EchoConfig);

        var text = new StringBuilder();
        await foreach (var update in gateway.Chat("echo-1").CompleteChatStreamingAsync([new UserChatMessage("Write to jane@example.com please")], cancellationToken: Patience.Token()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("Write to [REDACTED:EMAIL_ADDRESS] please", text.ToString());
    }

    [Fact]
    public async Task A_blocked_request_raises_in_the_official_client()
    {
        await using var gateway = await TestGateway.StartAsync(EchoConfig);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat("echo-1").CompleteChatAsync([new UserChatMessage("status of project falcon?")], cancellationToken: Patience.Token()));

        Assert.Equal(400, error.Status);
        Assert.Contains("Blocked by policy 'content-filter'", error.Message, StringComparison.Ordinal);
    }
}
