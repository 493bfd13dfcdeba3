using System.Text;
using System.Text.Json;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Exchange;

public class AnthropicMessagesReaderTests
{
    private const string Request = """
        {"model":"claude-sonnet","max_tokens":512,"metadata":{"user_id":"u-7"},"stream":true,
         "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
         "messages":[
          {"role":"user","content":"mail bob@example.com"},
          {"content":[{"text":"Looking it up.","type":"text"},{"type":"tool_use","id":"t1","name":"crm","input":{"email":"bob@example.com","tags":["vip",{"note":"caf\u00e9"}],"n":2}}],"role":"assistant"},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"owner: eve"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGk="}},{"type":"text","text":"thanks"}]}
        ]}
        """;

    [Fact]
    public void Reads_texts_in_the_openai_vocabulary_in_wire_order()
    {
        var view = AnthropicMessagesReader.ReadRequest(Encoding.UTF8.GetBytes(Request));

        Assert.Equal("claude-sonnet", view.Model);
        Assert.True(view.Stream);
        Assert.Equal("u-7", view.User);
        Assert.Equal(512, view.MaxOutputTokens);
        Assert.Equal(
            [
                ("system", TextKind.Content, 0, "You are terse."),
                ("user", TextKind.Content, 1, "mail bob@example.com"),
                ("assistant", TextKind.Content, 2, "Looking it up."),
                ("assistant", TextKind.ToolCallArguments, 2, "bob@example.com"),
                ("assistant", TextKind.ToolCallArguments, 2, "vip"),
                ("assistant", TextKind.ToolCallArguments, 2, "café"),
                ("tool", TextKind.ToolResult, 3, "owner: eve"),
                ("user", TextKind.Content, 3, "thanks"),
            ],
            view.Texts.Select(t => (t.Role, t.Kind, t.MessageIndex, t.Text)));
    }

    [Fact]
    public void Without_a_system_prompt_messages_start_at_zero()
    {
        var view = AnthropicMessagesReader.ReadRequest("""{"messages":[{"role":"user","content":"hi"}]}"""u8.ToArray());

        Assert.Equal(0, Assert.Single(view.Texts).MessageIndex);
    }

    [Fact]
    public void Reads_a_response_with_usage_including_cached_input()
    {
        const string Response = """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Hello"},{"type":"tool_use","id":"t","name":"f","input":{"q":"x"}}],
             "stop_reason":"end_turn","usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":5,"output_tokens":7}}
            """;

        var view = AnthropicMessagesReader.ReadResponse(Encoding.UTF8.GetBytes(Response));

        Assert.Equal([("assistant", TextKind.Content, "Hello"), ("assistant", TextKind.ToolCallArguments, "x")], view.Texts.Select(t => (t.Role, t.Kind, t.Text)));
        Assert.Equal(new TokenUsage(115, 7, 100), view.Usage);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"messages\":{}}")]
    [InlineData("{\"messages\":[1]}")]
    [InlineData("{\"messages\":[]} x")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"unterminated}]}")]
    public void Malformed_bodies_are_json_errors(string body) =>
        Assert.ThrowsAny<JsonException>(() => AnthropicMessagesReader.ReadRequest(Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void Rewriting_any_text_keeps_the_body_valid_and_every_other_text_as_it_was()
    {
        var replacements = Gen.Elements("", "x", "\"quoted\"", "back\\slash", "new\nline", "émoji 😀", "\u0001");
        Properties.ForAll(Gen.Zip(Gen.Choose(0, 7), replacements), input =>
        {
            var body = Encoding.UTF8.GetBytes(Request);
            var view = AnthropicMessagesReader.ReadRequest(body);

            var reread = AnthropicMessagesReader.ReadRequest(OpenAIChatReader.Rewrite(view, [(input.Item1, input.Item2)]));

            for (var i = 0; i < view.Texts.Count; i++)
            {
                Assert.Equal(i == input.Item1 ? input.Item2 : view.Texts[i].Text, reread.Texts[i].Text);
            }
        });
    }

    [Fact]
    public async Task The_engine_redacts_an_anthropic_body_and_rejects_one_that_is_not()
    {
        var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        await using var exchange = engine.BeginExchange();

        var redacted = await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(Request), ChatWireFormat.AnthropicMessages);
        var rejected = await exchange.EvaluateRequestAsync("{\"messages\":7}"u8.ToArray(), ChatWireFormat.AnthropicMessages);

        Assert.Equal(PolicyDecision.Redact, redacted.Decision);
        Assert.Equal(Request.Replace("bob@example.com", "[REDACTED:EMAIL_ADDRESS]", StringComparison.Ordinal), Encoding.UTF8.GetString(redacted.Body.Span));
        Assert.True(rejected.IsBlocked);
        Assert.Equal(400, rejected.Record.Status);
        Assert.Contains("Anthropic messages request", rejected.Record.Reason, StringComparison.Ordinal);
    }
}
