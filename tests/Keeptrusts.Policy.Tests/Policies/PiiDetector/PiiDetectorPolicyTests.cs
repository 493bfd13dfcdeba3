using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.PiiDetector;

public class PiiDetectorPolicyTests
{
    private static PolicyEngine Engine(string settings = "") => SinglePolicy.Engine("pii-detector", settings);

    public static TheoryData<string, string, string, int> LintCases() => new()
    {
        { "allow_patterns: [\"(unclosed\"]", "KT3101", "policy.pii-detector.allow_patterns[0]", 6 },
        { "redaction_format: \"{type}@example.com\"", "KT3102", "policy.pii-detector.redaction_format", 6 },
        { "entities: [EMAIL_ADDRESS, email_address]", "KT3103", "policy.pii-detector.entities[1]", 6 },
        { "entities: [EMAIL]", "KT1101", "policy.pii-detector.entities[0]", 6 },
        { "action: delete", "KT1101", "policy.pii-detector.action", 6 },
    };

    [Theory]
    [MemberData(nameof(LintCases))]
    public void Settings_are_linted(string settings, string code, string path, int line)
    {
        var result = PolicyConfigLoader.Parse(SinglePolicy.Document("pii-detector", settings));

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal((code, path, line), (finding.Code, finding.Path, finding.Location.Line));
    }

    [Fact]
    public async Task Redacts_a_request_rewriting_only_the_strings_it_targets()
    {
        const string Body = """{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Mail jane.doe@example.org, card 4111 1111 1111 1111."}],"metadata":{"k":"v"}}""";
        await using var exchange = Engine().BeginExchange();

        var evaluation = await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(Body));

        Assert.Equal(PolicyDecision.Redact, evaluation.Decision);
        Assert.Equal(
            Body.Replace("jane.doe@example.org", "[REDACTED:EMAIL_ADDRESS]", StringComparison.Ordinal).Replace("4111 1111 1111 1111", "[REDACTED:CREDIT_CARD]", StringComparison.Ordinal),
            Encoding.UTF8.GetString(evaluation.Body.Span));
        var findings = evaluation.Record.Policies[0].Findings;
        Assert.Equal(["EMAIL_ADDRESS", "CREDIT_CARD"], findings.Select(f => f.Type));
        Assert.Equal((5, 25), (findings[0].Start, findings[0].End));
        Assert.DoesNotContain("jane", evaluation.Record.Reason ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redacts_responses_too()
    {
        var response = """{"id":"x","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Her SSN is 536-22-8725."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}"""u8.ToArray();
        await using var exchange = Engine().BeginExchange();

        var evaluation = await exchange.EvaluateResponseAsync(response);

        Assert.Contains("Her SSN is [REDACTED:US_SSN].", Encoding.UTF8.GetString(evaluation.Body.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Block_and_warn()
    {
        var blocked = await Engine("action: block").EvaluateTextAsync("key AKIAIOSFODNN7EXAMPLF here");
        var warned = await Engine("action: warn").EvaluateTextAsync("write to jane.doe@example.org");

        Assert.True(blocked.IsBlocked);
        Assert.Equal(("pii_detected", 400), (blocked.Record.Code, blocked.Record.Status));
        Assert.Equal(PolicyDecision.Flag, warned.Decision);
        Assert.Equal("write to jane.doe@example.org", warned.Texts[0]);
    }

    [Fact]
    public async Task Entities_allow_lists_formats_and_phases_are_honoured()
    {
        const string Text = "mail jane.doe@example.org from 10.1.2.3 or support@acme.test";

        var onlyIp = await Engine("entities: [IP_ADDRESS]").EvaluateTextAsync(Text);
        var allowed = await Engine("allow: [JANE.DOE@example.org]\nallow_patterns: [\".*@acme\\\\.test\"]").EvaluateTextAsync(Text);
        var custom = await Engine("redaction_format: \"<{type}>\"").EvaluateTextAsync(Text);
        var inputOnly = await Engine("phases: [input]").EvaluateTextAsync(Text, PolicyPhase.Output);

        Assert.Equal("mail jane.doe@example.org from [REDACTED:IP_ADDRESS] or support@acme.test", onlyIp.Texts[0]);
        Assert.Equal("mail jane.doe@example.org from [REDACTED:IP_ADDRESS] or support@acme.test", allowed.Texts[0]);
        Assert.Equal("mail <EMAIL_ADDRESS> from <IP_ADDRESS> or <EMAIL_ADDRESS>", custom.Texts[0]);
        Assert.Equal(PolicyDecision.Allow, inputOnly.Decision);
    }

    private static readonly Gen<string> Filler = Gen.Elements("the", "report", "is", "due", "on", "Friday", "please", "call", "me", "", "and", "#", "-", "(", "ok.")
        .ListOf().Select(words => string.Join(" ", words.Take(25)));

    private static readonly Gen<string> Card = Gen.Elements("4111111111111111", "5500005555555559", "340000000000009", "6011000990139424")
        .SelectMany(number => Gen.Elements(number, string.Join(" ", number.Chunk(4).Select(c => new string(c)))));

    private static readonly Gen<string> Email = Gen.Zip(Gen.Elements("jane", "j.doe", "ops+alerts", "x_y"), Gen.Elements("example.org", "mail.example.co.uk", "acme.io"))
        .Select(p => p.Item1 + "@" + p.Item2);

    [Fact]
    public void Any_card_or_email_embedded_in_text_is_redacted_and_nothing_detectable_remains()
    {
        var engine = Engine();
        var cases = Gen.Zip(Gen.Zip(Filler, Filler), Gen.OneOf(Card, Email));
        Properties.ForAll(cases, input =>
        {
            var ((before, after), secret) = input;
            var text = before + " " + secret + " " + after;

            var first = engine.EvaluateTextAsync(text).AsTask().GetAwaiter().GetResult();
            var second = engine.EvaluateTextAsync(first.Texts[0]).AsTask().GetAwaiter().GetResult();

            Assert.Equal(PolicyDecision.Redact, first.Decision);
            Assert.DoesNotContain(secret, first.Texts[0], StringComparison.Ordinal);
            Assert.Equal(PolicyDecision.Allow, second.Decision);
            Assert.Equal(first.Texts[0], second.Texts[0]);
            Assert.Contains(first.Record.Policies[0].Findings, f => text[f.Start!.Value..f.End!.Value] == secret);
        });
    }

    [Fact]
    public void Findings_always_lie_within_the_text_and_never_throw()
    {
        var engine = Engine();
        var text = Gen.Elements('a', '1', '@', '.', ' ', '-', '+', ':', '/', '=', 'é', '\uD83D', '\uDE00', '\n').ArrayOf().Select(c => new string(c));
        Properties.ForAll(text, t =>
        {
            var evaluation = engine.EvaluateTextAsync(t).AsTask().GetAwaiter().GetResult();
            foreach (var finding in evaluation.Record.Policies.SelectMany(p => p.Findings))
            {
                Assert.InRange(finding.Start!.Value, 0, t.Length);
                Assert.InRange(finding.End!.Value, finding.Start.Value, t.Length);
            }
        }, maxTest: 500);
    }
}
