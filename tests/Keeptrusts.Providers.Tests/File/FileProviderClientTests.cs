using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.File;

public sealed class FileProviderClientTests
{
    private const string Completion = """
        {
          "id": "chatcmpl-canned",
          "object": "chat.completion",
          "created": 1741000000,
          "model": "canned-model",
          "choices": [{ "index": 0, "message": { "role": "assistant", "content": "A canned answer that is long enough to stream." }, "finish_reason": "stop" }],
          "usage": { "prompt_tokens": 9, "completion_tokens": 11, "total_tokens": 20 },
          "x_extra": { "kept": true }
        }
        """;

    [Fact]
    public async Task A_json_file_is_returned_as_it_is()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("answer.json", Completion);
        var target = new ProviderTarget { Id = "canned", Provider = "file://" + path };

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(Completion.Trim(), Targets.Text(response.Body));
    }

    [Fact]
    public async Task Json_lines_are_served_in_rotation()
    {
        using var dir = new TempDirectory();
        dir.Write("answers.jsonl", "{\"n\":1}\n\n{\"n\":2}\r\n{\"n\":3}\n");
        var target = new ProviderTarget { Id = "canned", Provider = "file://answers.jsonl" };
        var client = Targets.Client(target, Targets.Options(configure: o => o.WorkingDirectory = dir.Path));

        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());
            answers.Add(Targets.Text(response.Body));
        }

        Assert.Equal(["{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":1}"], answers);
    }

    [Fact]
    public async Task A_streamed_request_gets_the_answer_in_chunks_with_usage_when_asked()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("answer.json", Completion);
        var target = new ProviderTarget { Id = "canned", Provider = "file://" + path };

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, """{"stream_options":{"include_usage":true}}""", stream: true), Targets.Patience());
        var chunks = (await Targets.ReadChunksAsync(response)).Select(c => JsonDocument.Parse(c).RootElement).ToList();

        Assert.All(chunks, c => Assert.Equal("chatcmpl-canned", c.GetProperty("id").GetString()));
        Assert.All(chunks, c => Assert.Equal("canned-model", c.GetProperty("model").GetString()));
        Assert.Equal("A canned answer that is long enough to stream.", string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta")).Select(d => d.TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal(20, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_streamed_request_for_an_object_that_is_not_a_completion_gets_it_as_one_chunk()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("answer.json", "{\"anything\":[1,2,3]}");
        var target = new ProviderTarget { Id = "canned", Provider = "file://" + path };

        await using var response = await Targets.Client(target).SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(["{\"anything\":[1,2,3]}"], await Targets.ReadChunksAsync(response));
    }

    [Fact]
    public void A_missing_file_cannot_be_created_and_the_error_names_the_target_and_the_path()
    {
        using var dir = new TempDirectory();
        var target = new ProviderTarget { Id = "canned", Provider = "file://nope/answers.jsonl" };

        var error = Assert.Throws<ProviderConfigurationException>(() => Targets.Client(target, Targets.Options(configure: o => o.WorkingDirectory = dir.Path)));

        Assert.Equal("canned", error.TargetId);
        Assert.Contains(Path.Combine(dir.Path, "nope", "answers.jsonl"), error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("  \n\n", "empty")]
    [InlineData("[{\"a\":1}]", "not an object")]
    [InlineData("{\"a\":1}\n{broken\n", "line 2")]
    [InlineData("{\"a\":1}\n42\n", "line 2")]
    public void A_file_without_json_objects_cannot_be_created(string content, string expected)
    {
        using var dir = new TempDirectory();
        var path = dir.Write("answers.jsonl", content);
        var target = new ProviderTarget { Id = "canned", Provider = "file://" + path };

        var error = Assert.Throws<ProviderConfigurationException>(() => Targets.Client(target));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_over_the_cap_cannot_be_created()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("big.json", "{\"pad\":\"" + new string('x', 2000) + "\"}");
        var target = new ProviderTarget { Id = "canned", Provider = "file://" + path };

        var error = Assert.Throws<ProviderConfigurationException>(() => Targets.Client(target, Targets.Options(configure: o => o.MaxResponseBytes = 1024)));

        Assert.Contains("larger than 1024 bytes", error.Message, StringComparison.Ordinal);
    }
}
