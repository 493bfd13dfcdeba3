using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.ContentFilter;
using static Keeptrusts.Policy.Tests.Policies.ContentFilter.ContentFilterTesting;

namespace Keeptrusts.Policy.Tests.Policies.ContentFilter;

/// <summary>content-filter through the public engine, with real OpenAI chat-completions bodies.</summary>
public class ContentFilterEngineTests
{
    private const string Head = "pack: {name: t, version: 1.0.0}\npolicies:\n  chain: [content-filter]\npolicy:\n  content-filter:\n";

    private static PolicyEngine Engine(string settings, FailMode failMode = FailMode.Block)
    {
        var result = PolicyConfigLoader.Parse(Head + settings);
        Assert.Empty(result.Diagnostics);
        return PolicyEngine.Create(result.Config!, new PolicyEngineOptions { FailMode = failMode });
    }

    private static async Task<PolicyEvaluation> RequestAsync(PolicyEngine engine, string json)
    {
        await using var exchange = engine.BeginExchange();
        return await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(json));
    }

    private static string Request(string system = "You are helpful.", string user = "Hello there", string arguments = "{\\\"city\\\":\\\"Paris\\\"}", string toolResult = "18 degrees") => $$$"""
        {"model":"gpt-4o","messages":[
          {"role":"system","content":"{{{system}}}"},
          {"role":"user","content":[{"type":"text","text":"{{{user}}}"}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{{{arguments}}}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"{{{toolResult}}}"}
        ]}
        """;

    [Theory]
    [InlineData("system")]
    [InlineData("user")]
    [InlineData("arguments")]
    [InlineData("tool")]
    public async Task The_input_phase_scans_every_text_of_the_request(string where)
    {
        var engine = Engine("    input:\n      deny_keywords: [project falcon]\n");
        var secret = "about Project Falcon, then";
        var json = where switch
        {
            "system" => Request(system: secret),
            "user" => Request(user: secret),
            "arguments" => Request(arguments: "{\\\"q\\\":\\\"" + secret + "\\\"}"),
            _ => Request(toolResult: secret),
        };

        var evaluation = await RequestAsync(engine, json);

        Assert.True(evaluation.IsBlocked);
        Assert.Equal((400, "content_blocked", "content-filter"), (evaluation.Record.Status, evaluation.Record.Code, evaluation.Record.BlockedBy));
        Assert.Equal("content matched deny rule input.deny_keywords[0]", evaluation.Record.Reason);
        var finding = Assert.Single(Assert.Single(evaluation.Record.Policies).Findings);
        Assert.Equal(("CONTENT_FILTER", "input.deny_keywords[0]"), (finding.Type, finding.Detail));
        Assert.Equal("Project Falcon", evaluation.Texts[finding.Text!.Value][finding.Start!.Value..finding.End!.Value]);
    }

    [Fact]
    public async Task A_clean_request_passes_unchanged()
    {
        var engine = Engine("    match_timeout_ms: 1000\n    input:\n      deny_keywords: [project falcon]\n      deny_patterns: ['sk-[a-z0-9]{20,}']\n");
        var json = Request();

        var evaluation = await RequestAsync(engine, json);

        Assert.Equal(PolicyDecision.Allow, evaluation.Decision);
        Assert.Equal(json, Encoding.UTF8.GetString(evaluation.Body.Span));
    }

    [Fact]
    public async Task The_output_phase_scans_the_response_with_the_output_rules_only()
    {
        var engine = Engine("    match_timeout_ms: 1000\n    input:\n      deny_keywords: [alpha]\n    output:\n      deny_patterns: ['\\bcodename [a-z]+']\n");
        await using var exchange = engine.BeginExchange();

        var request = await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"tell me the codename please"}]}"""));
        var response = await exchange.EvaluateResponseAsync(Encoding.UTF8.GetBytes("""{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Alpha is fine; the CODENAME Bluebird stays secret"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}"""));

        Assert.Equal(PolicyDecision.Allow, request.Decision);
        Assert.True(response.IsBlocked);
        Assert.Equal("content matched deny rule output.deny_patterns[0]", response.Record.Reason);
        Assert.DoesNotContain("Bluebird", response.Record.Reason!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Warn_flags_and_lets_the_request_through()
    {
        var engine = Engine("    action: warn\n    input:\n      deny_keywords: [falcon]\n");

        var evaluation = await RequestAsync(engine, Request(user: "falcon"));

        Assert.Equal(PolicyDecision.Flag, evaluation.Decision);
        Assert.False(evaluation.IsBlocked);
        Assert.Single(evaluation.Record.Policies[0].Findings);
    }

    [Fact]
    public async Task Monitor_mode_records_but_never_blocks()
    {
        var engine = Engine("    mode: monitor\n    input:\n      deny_keywords: [falcon]\n");

        var evaluation = await RequestAsync(engine, Request(user: "falcon"));

        Assert.False(evaluation.IsBlocked);
        Assert.Equal(PolicyDecision.Block, evaluation.Record.Policies[0].Decision);
        Assert.False(evaluation.Record.Policies[0].Enforced);
    }

    [Fact]
    public async Task An_allow_keyword_carves_its_phrase_out_of_a_deny_keyword()
    {
        var engine = Engine("    input:\n      deny_keywords: [password]\n      allow_keywords: [password reset]\n");

        var allowed = await engine.EvaluateTextAsync("How do I do a Password Reset?");
        var denied = await engine.EvaluateTextAsync("Password reset done; my password is hunter2");

        Assert.Equal(PolicyDecision.Allow, allowed.Decision);
        Assert.True(denied.IsBlocked);
        var finding = Assert.Single(denied.Record.Policies[0].Findings);
        Assert.Equal(24, finding.Start);
    }

    [Theory]
    [InlineData(FailMode.Block, true)]
    [InlineData(FailMode.Allow, false)]
    public async Task A_pattern_that_runs_out_of_time_is_a_policy_failure_for_the_fail_mode(FailMode failMode, bool blocked)
    {
        // The lookahead forces the backtracking engine, and nested quantifiers make it exponential on this input.
        var engine = Engine("    match_timeout_ms: 1\n    input:\n      deny_patterns: ['(?=a)(a+)+$']\n", failMode);
        var text = new string('a', 5000) + "!";

        var evaluation = await engine.EvaluateTextAsync(text);

        Assert.Equal(blocked, evaluation.IsBlocked);
        var outcome = Assert.Single(evaluation.Record.Policies);
        Assert.Equal("timed out", outcome.Error);
        if (blocked)
        {
            Assert.Equal((503, "policy_unavailable"), (evaluation.Record.Status, evaluation.Record.Code));
        }
    }

    [Fact]
    public void A_timeout_is_thrown_as_a_timeout_exception_that_does_not_carry_the_text()
    {
        var policy = Filter(new ContentFilterRules { DenyPatterns = ["(?=a)(a+)+$"] }, timeoutMs: 1);
        var text = new string('a', 5000) + "!";

        var ex = Assert.Throws<TimeoutException>(() => { Evaluate(policy, text); });

        Assert.Contains("input.deny_patterns[0]", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void Patterns_use_the_non_backtracking_engine_unless_they_need_backtracking()
    {
        var plain = ContentRuleSet.Compile("secret-[0-9]+", caseSensitive: false, TimeSpan.FromMilliseconds(50));
        var lookbehind = ContentRuleSet.Compile("(?<=key=)\\w+", caseSensitive: false, TimeSpan.FromMilliseconds(50));
        var backreference = ContentRuleSet.Compile("(\\w)\\1", caseSensitive: true, TimeSpan.FromMilliseconds(50));

        Assert.True(plain.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking));
        Assert.True(plain.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.IgnoreCase));
        Assert.False(lookbehind.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking));
        Assert.False(backreference.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking));
        Assert.All([plain, lookbehind, backreference], r => Assert.Equal(TimeSpan.FromMilliseconds(50), r.MatchTimeout));
    }

    [Fact]
    public void Empty_texts_and_no_texts_are_allowed()
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = ["x"], DenyPatterns = [".*"] });

        Assert.Equal(PolicyDecision.Allow, Evaluate(policy, string.Empty).Decision);
        Assert.Equal(PolicyDecision.Allow, Evaluate(policy).Decision);
    }

    [Fact]
    public void A_pattern_that_only_matches_empty_strings_never_counts()
    {
        var policy = Filter(new ContentFilterRules { DenyPatterns = ["^", "\\b"] });

        Assert.Equal(PolicyDecision.Allow, Evaluate(policy, "some text").Decision);
    }

    [Fact]
    public void A_huge_text_full_of_matches_reports_a_bounded_number_of_findings()
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = ["bad"], DenyPatterns = ["[0-9]+"] });
        var text = string.Concat(Enumerable.Repeat("bad 12 ", 200_000));

        var verdict = Evaluate(policy, text);

        Assert.Equal(PolicyDecision.Block, verdict.Decision);
        Assert.Equal(ContentFilterPolicy.MaxFindings, verdict.Findings.Count);
        Assert.Equal("content matched deny rule input.deny_keywords[0] and 1 other rule(s)", verdict.Reason);
    }

    [Fact]
    public void A_huge_clean_text_is_allowed()
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = ["bad", "worse"], DenyPatterns = ["[0-9]{16}"] });

        Assert.Equal(PolicyDecision.Allow, Evaluate(policy, new string('x', 4_000_000)).Decision);
    }

    [Theory]
    [InlineData("straße", "STRASSE", false)] // ß has no single-letter upper case: ordinal comparison never expands it
    [InlineData("straße", "Straße", true)]
    [InlineData("kill", "skill", false)]
    [InlineData("kill", "kill\u0301", false)] // a combining accent makes it a different word
    [InlineData("kill", "\u202Ekill\u202C", true)] // bidi controls are not letters
    [InlineData("kill", "kill\u200Bswitch", true)] // nor is a zero-width space
    [InlineData("kill", "𝐀kill", false)] // a letter outside the BMP is still a letter
    [InlineData("kill", "\uD800kill\uDC00", true)] // lone surrogates are not letters
    [InlineData("c++", "I like c++.", true)]
    [InlineData("c++", "I like abc++", false)]
    [InlineData("#tag", "see x#tag", true)]
    [InlineData("ДА", "скажи да!", true)]
    [InlineData("日本", "日本語", false)]
    [InlineData("日本", "「日本」", true)]
    public void Word_boundaries_follow_unicode_letters(string keyword, string text, bool found)
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = [keyword] });

        Assert.Equal(found, Evaluate(policy, text).Decision == PolicyDecision.Block);
    }

    [Fact]
    public void Invalid_utf16_and_control_characters_do_not_break_the_scan()
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = ["bad"], DenyPatterns = ["\\p{Cs}+x"] });

        Assert.Equal(PolicyDecision.Allow, Evaluate(policy, "\uDC00\uD800\0\u0007\uFFFF").Decision);
        Assert.Equal(PolicyDecision.Block, Evaluate(policy, "\0bad\uD800").Decision);
    }

    [Fact]
    public void Without_rules_for_a_phase_the_policy_is_skipped_in_that_phase()
    {
        var policy = Filter(new ContentFilterRules { DenyKeywords = ["x"] });
        var allowOnly = Filter(new ContentFilterRules { AllowKeywords = ["x"] });

        Assert.True(policy.AppliesTo(PolicyPhase.Input));
        Assert.False(policy.AppliesTo(PolicyPhase.Output));
        Assert.False(allowOnly.AppliesTo(PolicyPhase.Input));
    }
}
