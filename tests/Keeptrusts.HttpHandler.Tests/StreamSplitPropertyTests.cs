using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.HttpHandler.Tests;

/// <summary>
/// However the provider cuts its answer into deltas, and however the network cuts the event stream into reads, what
/// the caller reads is what the whole answer redacts to, and a secret never reaches it.
/// </summary>
public class StreamSplitPropertyTests
{
    private static readonly string[] Secrets = ["ada.lovelace@example.com", "4111 1111 1111 1111", "+1 415 555 0132", "GB82 WEST 1234 5698 7654 32"];
    private static readonly string[] Words = ["the", "report", "is", "ready,", "see", "attached", "notes", "and", "call", "me", "at", "mail"];

    private static readonly PolicyEngine Engine = Policies.Engine();

    private static Gen<(string Text, string Secret, int[] Deltas, int[] Reads)> Cases() =>
        from before in Gen.Elements(Words).ListOf().Select(w => string.Join(' ', w.Take(30)))
        from secret in Gen.Elements(Secrets)
        from after in Gen.Elements(Words).ListOf().Select(w => string.Join(' ', w.Take(30)))
        from deltas in Gen.Choose(1, 12).ArrayOf().Select(a => a.Length == 0 ? new[] { 1 } : a)
        from reads in Gen.Choose(1, 64).ArrayOf().Select(a => a.Length == 0 ? new[] { 7 } : a)
        select ((before + " " + secret + " " + after).Trim(), secret, deltas, reads);

    private static string Expected(string text) =>
        Engine.EvaluateTextAsync(text, PolicyPhase.Output).AsTask().GetAwaiter().GetResult().Texts[0];

    private static string Read(string format, string answer, int[] deltas, int[] reads)
    {
        var (text, fault) = ReadUntilFault(format, answer, deltas, reads);
        return fault is null ? text : throw fault;
    }

    /// <summary>Reads the stream line by line as a caller would, keeping what arrived before any fault.</summary>
    private static (string Text, Exception? Fault) ReadUntilFault(string format, string answer, int[] deltas, int[] reads)
    {
        var stream = format == "openai" ? FakeProvider.OpenAIStream(answer, deltas) : FakeProvider.AnthropicStream(answer, deltas);
        var provider = new FakeProvider((_, _) => FakeProvider.Sse(stream, reads));
        using var client = new HttpClient(new KeeptrustsPolicyHandler(Engine) { InnerHandler = provider });
        var body = format == "openai"
            ? "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            : "{\"model\":\"c\",\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        var path = format == "openai" ? "http://p.test/v1/chat/completions" : "http://p.test/v1/messages";
        using var response = client.Send(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") }, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(response.Content.ReadAsStream());
        var events = new StringBuilder();
        Exception? fault = null;
        try
        {
            while (reader.ReadLine() is { } line)
            {
                events.Append(line).Append('\n');
            }
        }
        catch (KeeptrustsPolicyException ex)
        {
            fault = ex;
        }

        // Only whole events count: the error event itself carries no answer text.
        var complete = events.ToString();
        complete = complete[..(complete.LastIndexOf("\n\n", StringComparison.Ordinal) + 2)];
        return (format == "openai" ? SseText.OpenAI(complete) : SseText.Anthropic(complete), fault);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    public void Any_split_redacts_like_the_whole_answer_and_never_leaks_the_secret(string format)
    {
        Properties.ForAll(Cases(), c =>
        {
            var seen = Read(format, c.Text, c.Deltas, c.Reads);

            Assert.DoesNotContain(c.Secret, seen, StringComparison.Ordinal);
            Assert.Equal(Expected(c.Text), seen);
        });
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    public void Any_split_of_a_blocked_answer_faults_before_the_blocked_word(string format)
    {
        Properties.ForAll(Cases(), c =>
        {
            var answer = c.Text.Replace(c.Secret, "classified", StringComparison.Ordinal);

            var (seen, fault) = ReadUntilFault(format, answer, c.Deltas, c.Reads);

            Assert.Equal("content-filter", Assert.IsType<KeeptrustsPolicyException>(fault).PolicyId);
            Assert.DoesNotContain("classified", seen, StringComparison.Ordinal);
            Assert.StartsWith(seen, answer, StringComparison.Ordinal);
        });
    }
}
