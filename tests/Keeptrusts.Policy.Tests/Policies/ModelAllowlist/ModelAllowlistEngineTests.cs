using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.ModelAllowlist;
using static Keeptrusts.Policy.Tests.Policies.ModelAllowlist.ModelAllowlistTesting;

namespace Keeptrusts.Policy.Tests.Policies.ModelAllowlist;

/// <summary>model-allowlist through the public engine, with real OpenAI chat-completions bodies.</summary>
public class ModelAllowlistEngineTests
{
    private const string Yaml = """
        pack: {name: t, version: 1.0.0}
        policies:
          chain: [model-allowlist]
        providers:
          targets:
            - {id: openai-primary, provider: openai}
            - {id: anthropic-fallback, provider: anthropic}
        policy:
          model-allowlist:
            models: [gpt-4o*, claude-sonnet-4-20250514]
            targets: [openai-primary]
        """;

    private static readonly PolicyEngine Engine = Create();

    private static PolicyEngine Create()
    {
        var result = PolicyConfigLoader.Parse(Yaml);
        Assert.Empty(result.Diagnostics);
        return PolicyEngine.Create(result.Config!);
    }

    private static async Task<PolicyEvaluation> RequestAsync(string json, string? target = null)
    {
        await using var exchange = Engine.BeginExchange(new RequestContext { TargetId = target });
        return await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(json));
    }

    [Theory]
    [InlineData("gpt-4o", true)]
    [InlineData("GPT-4o-mini-2024-07-18", true)]
    [InlineData("claude-sonnet-4-20250514", true)]
    [InlineData("gpt-4", false)]
    [InlineData("o3-mini", false)]
    public async Task The_requested_model_must_match_a_pattern(string model, bool allowed)
    {
        var evaluation = await RequestAsync($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(!allowed, evaluation.IsBlocked);
        if (!allowed)
        {
            Assert.Equal((403, "model_not_allowed", "model-allowlist"), (evaluation.Record.Status, evaluation.Record.Code, evaluation.Record.BlockedBy));
            Assert.Equal($"model '{model}' is not allowed; allowed models: gpt-4o*, claude-sonnet-4-20250514", evaluation.Record.Reason);
        }
    }

    [Fact]
    public async Task A_request_without_a_model_is_refused()
    {
        var evaluation = await RequestAsync("""{"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal((403, "model_required"), (evaluation.Record.Status, evaluation.Record.Code));
    }

    [Theory]
    [InlineData("openai-primary", false)]
    [InlineData("OpenAI-Primary", false)]
    [InlineData("anthropic-fallback", true)]
    [InlineData(null, false)]
    public async Task A_known_target_must_be_listed(string? target, bool blocked)
    {
        var evaluation = await RequestAsync("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", target);

        Assert.Equal(blocked, evaluation.IsBlocked);
        if (blocked)
        {
            Assert.Equal((403, "target_not_allowed"), (evaluation.Record.Status, evaluation.Record.Code));
            Assert.Equal("TARGET_NOT_ALLOWED", Assert.Single(evaluation.Record.Policies[0].Findings).Type);
        }
    }

    [Fact]
    public async Task Responses_are_not_checked()
    {
        await using var exchange = Engine.BeginExchange();

        var response = await exchange.EvaluateResponseAsync(Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion","model":"some-other-model","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"""));

        Assert.Equal(PolicyDecision.Allow, response.Decision);
        Assert.Empty(response.Record.Policies);
    }

    [Fact]
    public void A_very_long_model_name_is_quoted_in_part()
    {
        var model = new string('x', 10_000);

        var verdict = Evaluate(Allowlist(["gpt-4o"]), model);

        Assert.Equal(PolicyDecision.Block, verdict.Decision);
        Assert.True(verdict.Reason!.Length < 300);
    }

    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("gpt-4o", "gpt-4o-mini", false)]
    [InlineData("gpt-4o*", "gpt-4o", true)]
    [InlineData("gpt-?o", "gpt-4o", true)]
    [InlineData("gpt-?o", "gpt-o", false)]
    [InlineData("*-mini", "o3-mini", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("***", "x", true)]
    [InlineData("Ünïcode*", "üNÏCODE-1", true)]
    public void Globs_match_whole_ids(string pattern, string model, bool matches)
    {
        Assert.Equal(matches, ModelGlob.IsMatch(pattern, model));
    }

    [Fact]
    public void Many_stars_against_a_long_near_miss_stay_fast_enough_to_finish()
    {
        var pattern = string.Concat(Enumerable.Repeat("a*", 50)) + "b";

        Assert.False(ModelGlob.IsMatch(pattern, new string('a', 20_000)));
    }
}
