using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Providers.ChatClient;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.Tests.ChatClient;

/// <summary>However the inner client cuts its answer into updates, the caller reads what the whole answer redacts to.</summary>
public class StreamSplitPropertyTests
{
    private static readonly string[] Secrets = ["ada.lovelace@example.com", "4111 1111 1111 1111", "+1 415 555 0132"];
    private static readonly string[] Words = ["the", "report", "is", "ready,", "see", "notes", "and", "call", "me", "at"];
    private static readonly PolicyEngine Engine = Policies.Engine();

    [Fact]
    public void Any_split_redacts_like_the_whole_answer()
    {
        var cases =
            from before in Gen.Elements(Words).ListOf().Select(w => string.Join(' ', w.Take(25)))
            from secret in Gen.Elements(Secrets)
            from after in Gen.Elements(Words).ListOf().Select(w => string.Join(' ', w.Take(25)))
            from sizes in Gen.Choose(1, 15).ArrayOf().Select(a => a.Length == 0 ? new[] { 3 } : a)
            select ((before + " " + secret + " " + after).Trim(), secret, sizes);

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var (text, secret, sizes) = c;
            var inner = TestChatClient.Echo();
            inner.GetStreamingResponseCallback = (_, _) => TestChatClient.Updates(text, sizes);
            var client = inner.UseKeeptrusts(engine: Engine);

            var seen = string.Concat(client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]).ToBlockingEnumerable().Select(u => u.Text));

            Assert.DoesNotContain(secret, seen, StringComparison.Ordinal);
            Assert.Equal(Engine.EvaluateTextAsync(text, PolicyPhase.Output).AsTask().GetAwaiter().GetResult().Texts[0], seen);
        }));
    }
}
