using System.Net;
using System.Text.Json;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using OpenAI.Models;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class ModelsAndHealthTests
{
    [Fact]
    public async Task Models_are_listed_in_openai_shape_with_their_target()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl));

        var client = new OpenAIModelClient(new System.ClientModel.ApiKeyCredential("x"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") });
        OpenAIModelCollection models = await client.GetModelsAsync(Patience.Token());

        Assert.Equal(3, models.Count);
        Assert.Contains(models, m => m.Id == "gpt-4o" && m.OwnedBy == "second");
        Assert.Contains(models, m => m.Id == "gpt-4o-mini" && m.OwnedBy == "first");
    }

    [Fact]
    public async Task Models_that_policy_forbids_are_not_listed()
    {
        await using var first = await FakeUpstream.StartAsync();
        await using var second = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.TwoTargets(first.BaseUrl, second.BaseUrl, chain: "[model-allowlist]", policy: "model-allowlist: { models: [gpt-4o-mini] }"));

        using var response = await gateway.Http.GetAsync("/v1/models", Patience.Token());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        Assert.All(json.RootElement.GetProperty("data").EnumerateArray(), m =>
        {
            Assert.Equal("gpt-4o-mini", m.GetProperty("id").GetString());
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.True(m.GetProperty("created").GetInt64() > 0);
        });
    }

    [Fact]
    public async Task Health_is_ok_when_every_target_serves()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        using var response = await gateway.Http.GetAsync("/health", Patience.Token());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(gateway.Runtime.Current.Revision, json.RootElement.GetProperty("revision").GetString());
        var target = json.RootElement.GetProperty("components").GetProperty("providers").GetProperty("targets").GetProperty("primary");
        Assert.Equal("closed", target.GetProperty("breaker").GetString());
    }

    [Fact]
    public async Task Health_is_degraded_when_a_breaker_opens_and_unhealthy_when_none_can_serve()
    {
        await using var failing = await FakeUpstream.StartAsync();
        failing.Handler = (http, _) => FakeUpstream.Error(http, 500, "server_error", "boom");
        await using var healthy = await FakeUpstream.StartAsync();
        var breaker = "  circuit_breaker: { minimum_throughput: 2, failure_ratio: 0.5, break_duration_ms: 600000 }\n  fallback: { triggers: [server_error], max_fallback_attempts: 0 }";
        await using var one = await TestGateway.StartAsync(Configs.OpenAI(failing.BaseUrl, extra: breaker));
        await using var two = await TestGateway.StartAsync(Configs.TwoTargets(failing.BaseUrl, healthy.BaseUrl) + "\n" + breaker);

        for (var i = 0; i < 3; i++)
        {
            using var a = await ChatCompletionsTests.PostAsync(one, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
            using var pinned = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json") };
            pinned.Headers.Add("X-Keeptrusts-Provider", "first");
            using var b = await two.Http.SendAsync(pinned, Patience.Token());
        }

        using var unhealthy = await one.Http.GetAsync("/health", Patience.Token());
        using var degraded = await two.Http.GetAsync("/health", Patience.Token());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
        Assert.Equal("unhealthy", JsonDocument.Parse(await unhealthy.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        using var json = JsonDocument.Parse(await degraded.Content.ReadAsStringAsync());
        Assert.Equal("degraded", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("open", json.RootElement.GetProperty("components").GetProperty("providers").GetProperty("targets").GetProperty("first").GetProperty("breaker").GetString());
    }
}
