using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class BadInputTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(Configs.OpenAI(_upstream.BaseUrl), o => o.MaxRequestBodyBytes = 64 * 1024);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { "truncated", """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"""},
        { "not json", "model=gpt-4o-mini&messages=hi" },
        { "an array", """[{"role":"user","content":"hi"}]""" },
        { "trailing garbage", """{"model":"gpt-4o-mini","messages":[]} x""" },
        { "comment", """{"model":"gpt-4o-mini", /* no */ "messages":[]}""" },
        { "10k nested arrays", """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":""" + new string('[', 10_000) + new string(']', 10_000) + "}" },
        { "messages not a list", """{"model":"gpt-4o-mini","messages":"hi"}""" },
        { "lone surrogate escape", """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\ud800"}]}""" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_bodies_get_400_and_the_gateway_keeps_serving(string name, string body)
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, body);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, name);
        var error = await ChatCompletionsTests.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain(" at ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _upstream.Requests);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_malformed_body_is_recorded_as_a_refused_decision()
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, """{"model":""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var record = Assert.Single(_gateway.Sink.Records);
        Assert.Equal(PolicyDecision.Block, record.Decision);
        Assert.Equal(400, record.Status);
    }

    [Fact]
    public async Task Invalid_utf8_gets_400()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi XX"}]}""");
        var at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", content, Patience.Token());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_encoding", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("code").GetString());
        Assert.Equal(0, _upstream.Requests);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=latin1")]
    public async Task A_body_that_is_not_declared_as_json_gets_415(string contentType)
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("invalid_request_error", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("type").GetString());
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Json_with_a_utf8_charset_is_accepted()
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", "application/json; charset=utf-8");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_missing_content_type_gets_415()
    {
        using var content = new ByteArrayContent("""{"model":"gpt-4o-mini","messages":[]}"""u8.ToArray());
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", content, Patience.Token());

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await ChatCompletionsTests.ErrorAsync(response);
    }

    [Fact]
    public async Task An_empty_body_gets_400()
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, string.Empty);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("empty_body", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_oversized_body_gets_413_whether_its_length_is_declared_or_not()
    {
        var huge = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":" """ + new string('a', 100 * 1024) + "\"}]}";
        using var declared = await ChatCompletionsTests.PostAsync(_gateway, huge);

        using var chunkedContent = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunkedContent.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = chunkedContent };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunked = await _gateway.Http.SendAsync(chunkedRequest, Patience.Token());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Equal("request_too_large", (await ChatCompletionsTests.ErrorAsync(chunked)).GetProperty("code").GetString());
        Assert.Equal(0, _upstream.Requests);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Repeated_or_oversized_scoping_headers_get_400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Conversation-ID", new string('c', 300));
        using var response = await _gateway.Http.SendAsync(request, Patience.Token());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_header", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_get_on_chat_completions_is_refused()
    {
        using var get = await _gateway.Http.GetAsync("/v1/chat/completions", Patience.Token());

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
    }

    private async Task AssertStillServingAsync()
    {
        using var response = await ChatCompletionsTests.PostAsync(_gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"still here?"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("still here?", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
