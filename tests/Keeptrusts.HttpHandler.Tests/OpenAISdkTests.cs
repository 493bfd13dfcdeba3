using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using OpenAI;
using OpenAI.Chat;

namespace Keeptrusts.HttpHandler.Tests;

/// <summary>The official OpenAI .NET client, built over an HttpClient with the handler, against a provider double.</summary>
public class OpenAISdkTests
{
    private static ChatClient Client(FakeProvider provider, KeeptrustsPolicyOptions? options = null, PolicyEngine? engine = null)
    {
        var handler = new KeeptrustsPolicyHandler(engine ?? Policies.Engine(), options) { InnerHandler = provider };
        var http = new HttpClient(handler);
        return new ChatClient("gpt-test", new ApiKeyCredential("sk-test-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri("http://provider.test/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
    }

    [Fact]
    public async Task A_clean_request_and_answer_pass_unchanged()
    {
        var provider = FakeProvider.OpenAIEcho();

        var completion = await Client(provider).CompleteChatAsync([new UserChatMessage("What is the capital of France?")]);

        Assert.Equal("What is the capital of France?", completion.Value.Content[0].Text);
        Assert.Equal("What is the capital of France?", FakeProvider.LastUserText(JsonNode.Parse(provider.LastBody)!));
    }

    [Fact]
    public async Task The_provider_receives_the_redacted_prompt()
    {
        var provider = FakeProvider.OpenAIEcho();

        var completion = await Client(provider).CompleteChatAsync([new UserChatMessage("Mail alice@example.com about it")]);

        var sent = FakeProvider.LastUserText(JsonNode.Parse(provider.LastBody)!);
        Assert.Equal("Mail [REDACTED:EMAIL_ADDRESS] about it", sent);
        Assert.Equal(sent, completion.Value.Content[0].Text);
        Assert.DoesNotContain("alice@example.com", provider.LastBody, StringComparison.Ordinal);
        Assert.Equal(provider.LastBody.Length, provider.Received[^1].Request.Content!.Headers.ContentLength);
    }

    [Fact]
    public async Task A_blocked_request_raises_the_sdks_usual_error_with_the_policy_and_never_reaches_the_provider()
    {
        var provider = FakeProvider.OpenAIEcho();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client(provider).CompleteChatAsync([new UserChatMessage("tell me the forbidden thing")]));

        Assert.Equal(400, error.Status);
        Assert.Contains("content-filter", error.Message, StringComparison.Ordinal);
        var body = JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("content-filter", body["policy"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", body["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["decision_id"]!.GetValue<string>()));
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task A_blocked_answer_raises_the_sdks_usual_error()
    {
        var provider = FakeProvider.OpenAIEcho(_ => "This is classified material.");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client(provider).CompleteChatAsync([new UserChatMessage("hello")]));

        Assert.Equal(400, error.Status);
        Assert.Contains("content-filter", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("classified material", error.Message, StringComparison.Ordinal);
        Assert.Single(provider.Received);
    }

    [Fact]
    public async Task ThrowOnBlock_throws_the_typed_exception_with_the_decision()
    {
        var sink = new RecordingSink();
        var provider = FakeProvider.OpenAIEcho();

        var error = await Assert.ThrowsAsync<KeeptrustsPolicyException>(() =>
            Client(provider, new KeeptrustsPolicyOptions { ThrowOnBlock = true }, Policies.Engine(sink: sink)).CompleteChatAsync([new UserChatMessage("forbidden")]));

        Assert.Equal("content-filter", error.PolicyId);
        Assert.Equal(PolicyDecision.Block, error.Decision.Decision);
        Assert.Equal(PolicyPhase.Input, error.Decision.Phase);
        Assert.Equal(error.Decision.Id, Assert.Single(sink.Records).Id);
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task A_streamed_answer_is_redacted_across_chunks()
    {
        // The answer carries an e-mail cut into 3-character deltas: no single chunk holds it.
        var provider = FakeProvider.OpenAIEcho(_ => "Write to bob.smith@example.org today, please.", chunkSizes: [3]);
        var text = new System.Text.StringBuilder();

        await foreach (var update in Client(provider).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("Write to [REDACTED:EMAIL_ADDRESS] today, please.", text.ToString());
    }

    [Fact]
    public async Task The_sdks_own_usage_request_is_kept_and_usage_reaches_it()
    {
        var provider = FakeProvider.OpenAIEcho(chunkSizes: [4]);
        StreamingChatCompletionUpdate? last = null;

        await foreach (var update in Client(provider).CompleteChatStreamingAsync([new UserChatMessage("count my tokens")]))
        {
            last = update;
        }

        Assert.True(JsonNode.Parse(provider.LastBody)!["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.Equal(12, last!.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task A_block_in_the_middle_of_a_stream_faults_it_after_the_safe_part()
    {
        var prefix = string.Concat(Enumerable.Repeat("All good so far. ", 10));
        var provider = FakeProvider.OpenAIEcho(_ => prefix + "Now the classified part.", chunkSizes: [5]);
        var text = new System.Text.StringBuilder();

        var error = await Assert.ThrowsAsync<KeeptrustsPolicyException>(async () =>
        {
            await foreach (var update in Client(provider).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }
        });

        Assert.Equal("content-filter", error.PolicyId);
        Assert.Equal(PolicyPhase.Output, error.Decision.Phase);
        Assert.StartsWith("All good so far.", text.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("classified", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_synchronous_api_applies_the_same_policies()
    {
        var provider = FakeProvider.OpenAIEcho();
        var client = Client(provider);

        var completion = client.CompleteChat([new UserChatMessage("Mail alice@example.com")]);
        var blocked = Assert.Throws<ClientResultException>(() => client.CompleteChat([new UserChatMessage("forbidden")]));

        Assert.Equal("Mail [REDACTED:EMAIL_ADDRESS]", completion.Value.Content[0].Text);
        Assert.Contains("content-filter", blocked.Message, StringComparison.Ordinal);
        Assert.Single(provider.Received);
    }

    [Fact]
    public void The_synchronous_streaming_api_is_guarded_too()
    {
        var provider = FakeProvider.OpenAIEcho(_ => "reach me at carol@example.net now", chunkSizes: [2]);
        var text = new System.Text.StringBuilder();

        foreach (var update in Client(provider).CompleteChatStreaming([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("reach me at [REDACTED:EMAIL_ADDRESS] now", text.ToString());
    }

    [Fact]
    public async Task Identity_from_the_options_lands_in_every_record()
    {
        var sink = new RecordingSink();
        var options = new KeeptrustsPolicyOptions
        {
            RequestContext = _ => new RequestContext { UserId = "u-42", IdentityProofMethod = IdentityProofMethod.InProcess },
        };

        await Client(FakeProvider.OpenAIEcho(), options, Policies.Engine(sink: sink)).CompleteChatAsync([new UserChatMessage("hello")]);

        Assert.Equal(2, sink.Records.Count);
        Assert.All(sink.Records, r => Assert.Equal("u-42", r.UserId));
        Assert.All(sink.Records, r => Assert.Equal(IdentityProofMethod.InProcess, r.IdentityProofMethod));
        Assert.Equal([PolicyPhase.Input, PolicyPhase.Output], sink.Records.Select(r => r.Phase));
    }
}
