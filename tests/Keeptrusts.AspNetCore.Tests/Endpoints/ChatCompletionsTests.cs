using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using OpenAI.Chat;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class ChatCompletionsTests
{
    [Fact]
    public async Task The_official_client_gets_the_upstream_answer()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        ChatCompletion completion = await gateway.Chat().CompleteChatAsync([new UserChatMessage("What is the capital of France?")], cancellationToken: Patience.Token());

        Assert.Equal("What is the capital of France?", completion.Content[0].Text);
        Assert.Equal(1, upstream.Requests);
        Assert.Equal(18, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task A_redacted_request_reaches_the_upstream_without_the_secret()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        ChatCompletion completion = await gateway.Chat().CompleteChatAsync([new UserChatMessage("Write to jane.doe@example.com about the invoice")], cancellationToken: Patience.Token());

        var sent = Assert.Single(upstream.Bodies);
        Assert.DoesNotContain("jane.doe@example.com", sent, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", FakeUpstream.LastUserText(JsonNode.Parse(sent)!.AsObject()), StringComparison.Ordinal);
        Assert.Equal("Write to [REDACTED:EMAIL_ADDRESS] about the invoice", completion.Content[0].Text);
    }

    [Fact]
    public async Task A_blocked_request_raises_in_the_client_with_the_policy_and_never_reaches_the_upstream()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [project falcon] } }"));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat().CompleteChatAsync([new UserChatMessage("Tell me about Project Falcon")], cancellationToken: Patience.Token()));

        Assert.Equal(400, error.Status);
        Assert.Contains("content-filter", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, upstream.Requests);
        var record = Assert.Single(gateway.Sink.Records);
        Assert.Equal(PolicyDecision.Block, record.Decision);
        Assert.Equal("content-filter", record.BlockedBy);
    }

    [Fact]
    public async Task A_blocked_answer_is_refused_with_the_output_policy()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, request) => FakeUpstream.Completion(http, request, "This is classified material.");
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { output: { deny_keywords: [classified] } }"));

        using var response = await PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("content-filter", error.GetProperty("policy").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("classified material", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_errors_pass_through_with_their_status_and_retry_after()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, _) => FakeUpstream.Error(http, 404, "invalid_request_error", "The model does not exist", retryAfter: "7");
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("The model does not exist", (await ErrorAsync(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_rate_limited_upstream_answer_carries_retry_after_to_the_caller()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Handler = (http, _) => FakeUpstream.Error(http, 429, "rate_limit_error", "Slow down", retryAfter: "30");
        var yaml = Configs.OpenAI(upstream.BaseUrl, extra: "  fallback: { triggers: [server_error], max_fallback_attempts: 0 }");
        await using var gateway = await TestGateway.StartAsync(yaml);

        using var response = await PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), response.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_error", (await ErrorAsync(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Pinning_a_target_sends_only_there_and_records_the_target()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl));

        var client = gateway.Chat(configure: o => o.AddPolicy(new HeaderPolicy(("X-Keeptrusts-Provider", "second"), ("X-Keeptrusts-Model", "gpt-4o")), System.ClientModel.Primitives.PipelinePosition.PerCall));
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.Equal("hi", completion.Content[0].Text);
        Assert.Equal(0, first.Requests);
        Assert.Equal("gpt-4o", JsonNode.Parse(Assert.Single(second.Bodies))!["model"]!.GetValue<string>());
        Assert.All(gateway.Sink.Records, r => Assert.Equal("second", r.TargetId, ignoreCase: true));
    }

    [Fact]
    public async Task The_answer_record_names_the_target_the_router_fell_back_to()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        first.Handler = (http, _) => FakeUpstream.Error(http, 500, "server_error", "down");
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl));

        ChatCompletion completion = await gateway.Chat().CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.Equal("hi", completion.Content[0].Text);
        var records = gateway.Sink.Records.ToList();
        Assert.Equal(2, records.Count);
        Assert.Null(records.Single(r => r.Phase == PolicyPhase.Input).TargetId);
        Assert.Equal("second", records.Single(r => r.Phase == PolicyPhase.Output).TargetId, ignoreCase: true);
    }

    [Fact]
    public async Task Pinning_an_unknown_target_is_refused_naming_the_allowed_targets()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl));

        var client = gateway.Chat(configure: o => o.AddPolicy(new HeaderPolicy(("X-Keeptrusts-Provider", "nowhere")), System.ClientModel.Primitives.PipelinePosition.PerCall));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));

        Assert.Equal(400, error.Status);
        Assert.Contains("first", error.Message, StringComparison.Ordinal);
        Assert.Contains("second", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, first.Requests + second.Requests);
    }

    [Fact]
    public async Task Pinning_a_model_the_target_does_not_serve_is_refused()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Keeptrusts-Provider", "first");
        request.Headers.Add("X-Keeptrusts-Model", "gpt-4o");
        using var response = await gateway.Http.SendAsync(request, Patience.Token());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("X-Keeptrusts-Model", error.GetProperty("param").GetString());
        Assert.Contains("gpt-4o-mini", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, first.Requests + second.Requests);
    }

    [Fact]
    public async Task Pinning_never_bypasses_policy()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        var policy = "model-allowlist: { targets: [first] }";
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl, chain: "[model-allowlist]", policy: policy));

        var client = gateway.Chat(configure: o => o.AddPolicy(new HeaderPolicy(("X-Keeptrusts-Provider", "second")), System.ClientModel.Primitives.PipelinePosition.PerCall));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));

        Assert.Equal(400, error.Status);
        Assert.Equal(0, first.Requests + second.Requests);
    }

    [Fact]
    public async Task The_conversation_id_and_request_id_reach_the_records()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Conversation-ID", "conv-42");
        using var response = await gateway.Http.SendAsync(request, Patience.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Keeptrusts-Request-Id").Single();
        var records = gateway.Sink.For(requestId);
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal("conv-42", r.ConversationId));
    }

    internal static async Task<HttpResponseMessage> PostAsync(TestGateway gateway, string json, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);

        // Headers only: a stream is read event by event, and may end in a reset after its error event.
        return await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Patience.Token());
    }

    internal static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error.Clone();
    }
}
