using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.AspNetCore.Tests.TestSupport;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed partial class StreamingRedactionPropertyTests
{
    private static readonly Gen<string> Emails =
        from user in Gen.Elements("jane.doe", "ops", "a.b-c", "first_last", "x9")
        from domain in Gen.Elements("example.com", "corp.example.org", "mail.test.io")
        select user + "@" + domain;

    // Test card numbers with valid Luhn sums and real issuer prefixes, plain and grouped.
    private static readonly Gen<string> Cards = Gen.Elements(
        "4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011 1111 1111 1117");

    private static readonly Gen<string> Words = Gen.Elements("please", "send", "the", "report", "to", "card", "number", "is", "thanks", "ok,", "Grüße", "🙂");

    private static readonly Gen<Case> Cases =
        from before in Words.ListOf().Select(static w => string.Join(' ', w))
        from secret in Gen.OneOf(Emails, Cards)
        from after in Words.ListOf().Select(static w => string.Join(' ', w))
        from deltaSizes in Gen.Choose(1, 12).NonEmptyListOf()
        from writeSizes in Gen.Choose(1, 200).NonEmptyListOf()
        select new Case($"{before} {secret} {after}".Trim(), secret, deltaSizes.ToArray(), writeSizes.ToArray());

    [Fact]
    public async Task No_split_of_the_upstream_stream_lets_an_email_or_card_through()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));
        Case? current = null;
        upstream.Handler = (http, request) =>
        {
            var test = current!;
            var sse = FakeUpstream.SseText(request, Deltas(test.Text, test.DeltaSizes));
            return FakeUpstream.StreamRaw(http, sse, test.WriteSizes);
        };

        Properties.ForAllAsync(Cases, async test =>
        {
            current = test;
            using var response = await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"go"}]}""");
            var raw = await response.Content.ReadAsStringAsync(Patience.Token());
            var content = new StringBuilder();
            foreach (var line in raw.Split('\n'))
            {
                if (line.StartsWith("data: {", StringComparison.Ordinal))
                {
                    content.Append((string?)JsonNode.Parse(line[6..])!["choices"]?.AsArray().FirstOrDefault()?["delta"]?["content"]);
                }
            }

            var digits = Separators().Replace(test.Secret, string.Empty);
            Assert.DoesNotContain(test.Secret, raw, StringComparison.Ordinal);
            Assert.DoesNotContain(test.Secret, content.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(digits, Separators().Replace(content.ToString(), string.Empty), StringComparison.Ordinal);
            Assert.Contains("[REDACTED:", content.ToString(), StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        });
    }

    private static List<string> Deltas(string text, int[] sizes)
    {
        // Split by text elements, so a delta never cuts an emoji in half (upstreams send whole characters).
        var elements = new List<string>();
        var enumerator = System.Globalization.StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            elements.Add(enumerator.GetTextElement());
        }

        var deltas = new List<string>();
        var index = 0;
        for (var i = 0; index < elements.Count; i++)
        {
            var take = Math.Min(sizes[i % sizes.Length], elements.Count - index);
            deltas.Add(string.Concat(elements.Skip(index).Take(take)));
            index += take;
        }

        return deltas;
    }

    [GeneratedRegex("[ -]")]
    private static partial Regex Separators();

    public sealed record Case(string Text, string Secret, int[] DeltaSizes, int[] WriteSizes)
    {
        public override string ToString() => $"text: {Text} | deltas: [{string.Join(',', DeltaSizes)}] | writes: [{string.Join(',', WriteSizes)}]";
    }
}
