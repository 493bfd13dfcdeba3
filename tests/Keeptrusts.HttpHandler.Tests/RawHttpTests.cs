using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Tests;

/// <summary>The handler seen from plain HttpClient calls: what it governs, what it leaves alone, how it answers.</summary>
public class RawHttpTests
{
    private static HttpClient Client(HttpMessageHandler provider, KeeptrustsPolicyOptions? options = null, PolicyEngine? engine = null) =>
        new(new KeeptrustsPolicyHandler(engine ?? Policies.Engine(), options) { InnerHandler = provider }) { BaseAddress = new Uri("http://provider.test/") };

    private static Task<HttpResponseMessage> Streamed(HttpClient client, string json) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Json(json) }, HttpCompletionOption.ResponseHeadersRead);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("GET", "v1/chat/completions")]
    [InlineData("POST", "v1/embeddings")]
    [InlineData("POST", "v1/chat/completions/extra")]
    [InlineData("POST", "v1/messages/count_tokens")]
    [InlineData("PUT", "v1/messages")]
    public async Task Requests_it_does_not_recognise_pass_through_as_the_same_instance(string method, string path)
    {
        HttpRequestMessage? seen = null;
        string? seenBody = null;
        var provider = new FakeProvider((r, body) => { seen = r; seenBody = body; return FakeProvider.Json("{\"ok\":\"forbidden alice@example.com\"}"); });
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "GET" ? null : Json("{\"messages\":[{\"role\":\"user\",\"content\":\"forbidden alice@example.com\"}]}") };
        var content = request.Content;

        using var response = await Client(provider).SendAsync(request);

        Assert.Same(request, seen);
        Assert.Same(content, seen!.Content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"ok\":\"forbidden alice@example.com\"}", await response.Content.ReadAsStringAsync());
        Assert.Equal(method == "GET" ? string.Empty : "{\"messages\":[{\"role\":\"user\",\"content\":\"forbidden alice@example.com\"}]}", seenBody);
    }

    [Fact]
    public async Task Azure_style_deployment_paths_are_governed()
    {
        var provider = FakeProvider.OpenAIEcho();

        using var response = await Client(provider).PostAsync("openai/deployments/gpt/chat/completions?api-version=2024-10-21", Json("{\"messages\":[{\"role\":\"user\",\"content\":\"forbidden\"}]}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task A_body_that_is_not_a_chat_request_gets_an_openai_error_and_is_not_sent()
    {
        var provider = FakeProvider.OpenAIEcho();

        using var response = await Client(provider).PostAsync("v1/chat/completions", Json("{\"messages\": [nope"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains("not a valid chat completion request", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_with_413()
    {
        var provider = FakeProvider.OpenAIEcho();
        var big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 2000) + "\"}]}";

        using var response = await Client(provider, new KeeptrustsPolicyOptions { MaxBodyBytes = 1000 }).PostAsync("v1/chat/completions", Json(big));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Empty(provider.Received);
    }

    [Fact]
    public async Task Provider_errors_pass_through_unchanged()
    {
        const string Error = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":null}}";
        var provider = new FakeProvider((_, _) => FakeProvider.Json(Error, HttpStatusCode.TooManyRequests));

        using var response = await Client(provider).PostAsync("v1/chat/completions", Json("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(Error, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_streamed_answer_without_usage_requested_gets_usage_asked_for_and_stripped()
    {
        var provider = FakeProvider.OpenAIEcho(chunkSizes: [3]);

        using var response = await Client(provider).PostAsync("v1/chat/completions", Json("{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}"));
        var events = await response.Content.ReadAsStringAsync();

        Assert.True(JsonNode.Parse(provider.LastBody)!["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.DoesNotContain("\"usage\"", events, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", events, StringComparison.Ordinal);
        Assert.Equal("hello there", SseText.OpenAI(events));
    }

    [Fact]
    public async Task A_mid_stream_block_writes_an_openai_error_event_before_faulting()
    {
        var provider = FakeProvider.OpenAIEcho(_ => "it is classified", chunkSizes: [4]);

        using var response = await Streamed(Client(provider), "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        var error = await Assert.ThrowsAsync<KeeptrustsPolicyException>(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Add(line);
            }
        });

        var last = JsonNode.Parse(lines.Last(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..])!;
        Assert.Equal("content-filter", last["error"]!["policy"]!.GetValue<string>());
        Assert.Equal(error.Decision.Id, last["error"]!["decision_id"]!.GetValue<string>());
        Assert.DoesNotContain(lines, l => l.Contains("[DONE]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_chunk_that_is_not_json_stops_the_stream_with_an_error()
    {
        var provider = new FakeProvider((_, _) => FakeProvider.Sse("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: {oops\n\n", null));

        using var response = await Streamed(Client(provider), "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                text.AppendLine(line);
            }
        });

        Assert.Contains("invalid_upstream_stream", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Comments_and_keep_alives_pass_through()
    {
        var stream = ": keep-alive\n\n" + FakeProvider.OpenAIStream("hi", [1]);
        var provider = new FakeProvider((_, _) => FakeProvider.Sse(stream, [5]));

        using var response = await Client(provider).PostAsync("v1/chat/completions", Json("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        var events = await response.Content.ReadAsStringAsync();

        Assert.StartsWith(": keep-alive\n\n", events, StringComparison.Ordinal);
        Assert.Equal("hi", SseText.OpenAI(events));
        Assert.Contains("\"usage\"", events, StringComparison.Ordinal);
    }
}
