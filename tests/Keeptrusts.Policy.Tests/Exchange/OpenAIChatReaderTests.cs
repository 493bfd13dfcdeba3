using System.Text;
using System.Text.Json;
using FsCheck.Fluent;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Exchange;

public class OpenAIChatReaderTests
{
    private const string Request = """
        {"model":"gpt-4o","x_custom":{"keep":[1,2.50,"three"]},"messages":[
          {"role":"system","content":"You are helpful."},
          {"content":[{"type":"text","text":"mail bob@example.com"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"role":"user","name":"u1"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"bob@example.com\"}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"found: caf\u00e9 \ud83d\ude00"}
        ],"stream":true,"temperature":0.2,"user":"alice"}
        """;

    [Fact]
    public void Reads_texts_with_roles_and_kinds_in_wire_order()
    {
        var view = OpenAIChatReader.ReadRequest(Encoding.UTF8.GetBytes(Request));

        Assert.Equal("gpt-4o", view.Model);
        Assert.True(view.Stream);
        Assert.Equal("alice", view.User);
        Assert.Equal(
            [("system", TextKind.Content, "You are helpful."), ("user", TextKind.Content, "mail bob@example.com"), ("assistant", TextKind.ToolCallArguments, "{\"q\":\"bob@example.com\"}"), ("tool", TextKind.ToolResult, "found: café 😀")],
            view.Texts.Select(t => (t.Role, t.Kind, t.Text)));
    }

    [Fact]
    public void Rewriting_changes_only_the_targeted_strings()
    {
        var body = Encoding.UTF8.GetBytes(Request);
        var view = OpenAIChatReader.ReadRequest(body);

        var rewritten = Encoding.UTF8.GetString(OpenAIChatReader.Rewrite(view, [(1, "mail [REDACTED:EMAIL_ADDRESS]"), (2, "{\"q\":\"[REDACTED:EMAIL_ADDRESS]\"}")]));

        var expected = Request
            .Replace("\"mail bob@example.com\"", "\"mail [REDACTED:EMAIL_ADDRESS]\"", StringComparison.Ordinal)
            .Replace("\"{\\\"q\\\":\\\"bob@example.com\\\"}\"", "\"{\\\"q\\\":\\\"[REDACTED:EMAIL_ADDRESS]\\\"}\"", StringComparison.Ordinal);
        Assert.Equal(expected, rewritten);
    }

    [Fact]
    public void Rewriting_any_text_keeps_the_body_valid_json_and_every_other_byte()
    {
        var replacements = Gen.Elements("", "x", "\"quoted\"", "back\\slash", "new\nline", "émoji 😀", "</script>", "\u0001");
        Properties.ForAll(Gen.Zip(Gen.Choose(0, 3), replacements), input =>
        {
            var body = Encoding.UTF8.GetBytes(Request);
            var view = OpenAIChatReader.ReadRequest(body);
            var rewritten = OpenAIChatReader.Rewrite(view, [(input.Item1, input.Item2)]);

            var reread = OpenAIChatReader.ReadRequest(rewritten);
            Assert.Equal(input.Item2, reread.Texts[input.Item1].Text);
            for (var i = 0; i < view.Texts.Count; i++)
            {
                if (i != input.Item1)
                {
                    Assert.Equal(view.Texts[i].Text, reread.Texts[i].Text);
                }
            }

            var before = view.Texts[input.Item1];
            var tail = body.AsSpan(before.TokenStart + before.TokenLength);
            Assert.True(body.AsSpan(0, before.TokenStart).SequenceEqual(rewritten.AsSpan(0, before.TokenStart)));
            Assert.True(tail.SequenceEqual(rewritten.AsSpan(rewritten.Length - tail.Length)));
        });
    }

    [Fact]
    public void Reads_response_messages_and_usage()
    {
        var body = """{"id":"c","object":"chat.completion","model":"gpt-4o-2024","choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}"""u8.ToArray();

        var view = OpenAIChatReader.ReadResponse(body);

        Assert.Equal("gpt-4o-2024", view.Model);
        Assert.Equal(("assistant", "hi"), (view.Texts[0].Role, view.Texts[0].Text));
        Assert.Equal(new Keeptrusts.Policy.Evaluation.TokenUsage(12, 3, 4), view.Usage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"messages\": {}}")]
    [InlineData("{\"messages\": [1]}")]
    [InlineData("{\"model\": \"x\"")]
    [InlineData("{} {}")]
    public void Malformed_requests_are_json_exceptions(string body)
    {
        Assert.ThrowsAny<JsonException>(() => OpenAIChatReader.ReadRequest(Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void Deep_nesting_is_refused_not_overflowed()
    {
        var body = "{\"messages\":[],\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}";

        Assert.ThrowsAny<JsonException>(() => OpenAIChatReader.ReadRequest(Encoding.UTF8.GetBytes(body)));
    }
}
