using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Echo;

public sealed class EchoProviderClientTests
{
    private static readonly ProviderTarget Target = new() { Id = "echo-local", Provider = "echo" };

    [Fact]
    public async Task Answers_with_the_last_user_message_as_a_chat_completion()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeSeconds(1_741_000_000));
        var client = Targets.Client(Target, Targets.Options(time));
        const string body = """{"model":"ignored","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"there"}]}]}""";

        await using var response = await client.SendAsync(Targets.Request(Target, body, model: "echo-1"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        var root = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(1_741_000_000, root.GetProperty("created").GetInt64());
        Assert.Equal("echo-1", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("Hello\nthere", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = root.GetProperty("usage");
        // Prompt: "Be brief." (9) + "first" (5) + "ok" (2) + "Hello\nthere" (11) = 27 chars -> 7 tokens; answer 11 chars -> 3 tokens.
        Assert.Equal(7, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(10, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Streams_a_role_chunk_the_text_in_several_chunks_a_stop_and_usage_when_asked()
    {
        var client = Targets.Client(Target);
        const string text = "The quick brown fox jumps over the lazy dog, twice over.";
        var body = $$"""{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"{{text}}"}]}""";

        await using var response = await client.SendAsync(Targets.Request(Target, body, stream: true, model: "echo-1"), Targets.Patience());
        var chunks = (await Targets.ReadChunksAsync(response)).Select(c => JsonDocument.Parse(c).RootElement).ToList();

        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var contentChunks = chunks.Where(c => c.GetProperty("choices").GetArrayLength() == 1 && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0).ToList();
        Assert.True(contentChunks.Count >= 3);
        Assert.Equal(text, string.Concat(contentChunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString())));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(14, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Without_include_usage_the_stream_ends_with_the_finish_chunk()
    {
        var client = Targets.Client(Target);

        await using var response = await client.SendAsync(Targets.Request(Target, """{"messages":[{"role":"user","content":"hi"}]}""", stream: true), Targets.Patience());
        var last = JsonDocument.Parse((await Targets.ReadChunksAsync(response))[^1]).RootElement;

        Assert.Equal("stop", last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.False(last.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task A_request_without_user_messages_gets_an_empty_answer_with_minimal_usage()
    {
        var client = Targets.Client(Target);

        await using var response = await client.SendAsync(Targets.Request(Target, """{"messages":[]}"""), Targets.Patience());

        var root = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal(string.Empty, root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(1, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(1, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    public async Task A_body_that_is_not_a_json_object_is_answered_400(string body)
    {
        await using var response = await Targets.Client(Target).SendAsync(Targets.Request(Target, body), Targets.Patience());

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("invalid_request_error", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Probe_is_always_healthy()
        => Assert.True(await Targets.Client(Target).ProbeAsync("/v1/models", Targets.Patience()));

    [Fact]
    public void Any_user_text_comes_back_whole_streamed_or_not()
    {
        var client = Targets.Client(Target);
        Properties.ForAll(ArbMap.Default.ArbFor<NonNull<string>>().Generator, text =>
        {
            var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = text.Get } } });
            var whole = client.SendAsync(Targets.Request(Target, body), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            var streamed = client.SendAsync(Targets.Request(Target, body, stream: true), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            var chunks = Targets.ReadChunksAsync(streamed).GetAwaiter().GetResult();

            var answer = JsonDocument.Parse(whole.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            var joined = string.Concat(chunks.Select(c => JsonDocument.Parse(c).RootElement.GetProperty("choices")[0].GetProperty("delta"))
                .Select(d => d.TryGetProperty("content", out var t) ? t.GetString() : string.Empty));
            return answer == text.Get && joined == text.Get;
        });
    }
}
