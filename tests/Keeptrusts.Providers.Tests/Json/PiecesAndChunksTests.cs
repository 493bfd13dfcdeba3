using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Providers.Credentials;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Json;

public sealed class PiecesAndChunksTests
{
    [Fact]
    public void Text_pieces_rejoin_to_the_text_and_never_split_a_surrogate_pair()
    {
        var text = Gen.OneOf(
            ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get),
            Gen.Elements("😀", "a b", "  ", "é", "x").ListOf().Select(parts => string.Concat(parts)));

        Properties.ForAll(text, t =>
        {
            var pieces = TextPieces.Split(t);
            return string.Concat(pieces) == t
                && pieces.All(p => p.Length > 0)
                && pieces.All(p => !char.IsHighSurrogate(p[^1]) || !char.IsLowSurrogate(t[Math.Min(t.Length - 1, t.IndexOf(p, StringComparison.Ordinal) + p.Length)]));
        });
    }

    [Fact]
    public void A_completion_with_tool_calls_and_two_choices_is_chunked_per_choice()
    {
        const string completion = """
            {"id":"c1","object":"chat.completion","created":5,"model":"m","choices":[
              {"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"},
              {"index":1,"message":{"role":"assistant","content":"second","refusal":"no"},"finish_reason":"stop"}]}
            """;

        var chunks = CompletionChunker.Chunk(Encoding.UTF8.GetBytes(completion), includeUsage: true, "fallback", TimeProvider.System)
            .Select(c => JsonDocument.Parse(c).RootElement).ToList();

        Assert.All(chunks, c => Assert.Equal("c1", c.GetProperty("id").GetString()));
        Assert.All(chunks, c => Assert.Equal(5, c.GetProperty("created").GetInt64()));
        var first = chunks.Where(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32() == 0).ToList();
        var call = first[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal("call_1", call.GetProperty("id").GetString());
        Assert.Equal("{\"a\":1}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool_calls", first[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var second = chunks.Where(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32() == 1).ToList();
        Assert.Equal("no", second[^2].GetProperty("choices")[0].GetProperty("delta").GetProperty("refusal").GetString());
        Assert.DoesNotContain(chunks, c => c.TryGetProperty("usage", out _));
    }

    [Theory]
    [InlineData("Incorrect API key provided: sk-abcdef123456. Twice: sk-abcdef123456", "sk-abcdef123456", "Incorrect API key provided: [redacted]. Twice: [redacted]")]
    [InlineData("nothing here", "sk-abcdef123456", "nothing here")]
    [InlineData("abc", "abc", "abc")]
    [InlineData("key", null, "key")]
    public void The_scrubber_removes_every_occurrence_of_the_credential(string body, string? credential, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(CredentialScrubber.Scrub(Encoding.UTF8.GetBytes(body), credential).Span));
        Assert.Equal(expected, CredentialScrubber.Scrub(body, credential));
    }
}
