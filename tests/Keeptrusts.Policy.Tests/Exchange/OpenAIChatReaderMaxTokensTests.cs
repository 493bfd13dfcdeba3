using System.Text;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Tests.Exchange;

/// <summary>The output cap a request sets, as <see cref="ChatView.MaxOutputTokens"/>.</summary>
public class OpenAIChatReaderMaxTokensTests
{
    [Theory]
    [InlineData("", null)]
    [InlineData(",\"max_tokens\":256", 256L)]
    [InlineData(",\"max_completion_tokens\":512", 512L)]
    [InlineData(",\"max_completion_tokens\":512,\"max_tokens\":256", 512L)]
    [InlineData(",\"max_tokens\":256,\"max_completion_tokens\":512", 512L)]
    [InlineData(",\"max_completion_tokens\":null,\"max_tokens\":256", 256L)]
    [InlineData(",\"max_tokens\":0", 0L)]
    [InlineData(",\"max_tokens\":-1", null)]
    [InlineData(",\"max_tokens\":1.5", null)]
    [InlineData(",\"max_tokens\":\"100\"", null)]
    [InlineData(",\"max_tokens\":{\"n\":1}", null)]
    [InlineData(",\"max_tokens\":[1]", null)]
    [InlineData(",\"max_tokens\":99999999999999999999999", null)]
    [InlineData(",\"max_tokens\":9223372036854775807", long.MaxValue)]
    public void The_cap_is_max_completion_tokens_else_max_tokens_when_it_is_a_whole_number(string field, long? expected)
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + field + ",\"stream\":false}");

        var view = OpenAIChatReader.ReadRequest(body);

        Assert.Equal(expected, view.MaxOutputTokens);
        Assert.Equal("hi", Assert.Single(view.Texts).Text);
        Assert.False(view.Stream);
    }

    [Fact]
    public void Responses_and_plain_text_carry_no_cap()
    {
        Assert.Null(OpenAIChatReader.ReadResponse("{\"model\":\"gpt-4o\",\"max_tokens\":5,\"choices\":[]}"u8.ToArray()).MaxOutputTokens);
        Assert.Null(ChatView.FromUserText("hi").MaxOutputTokens);
    }
}
