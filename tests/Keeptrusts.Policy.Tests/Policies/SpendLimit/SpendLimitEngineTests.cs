using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.SpendLimit.SpendTestKit;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

/// <summary>spend-limit through <see cref="PolicyEngine"/> with the bodies OpenAI clients send and receive.</summary>
public class SpendLimitEngineTests
{
    private static readonly DateOnly Today = new(2025, 3, 14);

    private const string RealRequest = """
        {"model":"gpt-4o-mini","messages":[
          {"role":"developer","content":"Answer in one sentence."},
          {"role":"user","content":[{"type":"text","text":"What is the capital of France?"},{"type":"image_url","image_url":{"url":"https://example.com/map.png","detail":"low"}}]}
        ],"max_tokens":300,"temperature":0.7,"n":1,"stream":false,"user":"user-1234"}
        """;

    [Fact]
    public async Task A_request_reserves_its_estimate_and_the_response_settles_to_the_reported_usage()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 5, max_daily_usd_per_user: 1, max_daily_usd_per_team: 2 }"), store);
        var estimate = ReferenceCost("0.15", "0.60", "0.075", EstimatePromptTokens("Answer in one sentence.", "What is the capital of France?"), 300, 0);

        await using (var exchange = engine.BeginExchange(new RequestContext { UserId = "alice", Team = "payments" }))
        {
            var request = await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(RealRequest));

            Assert.False(request.IsBlocked);
            Assert.Equal(Encoding.UTF8.GetBytes(RealRequest), request.Body.ToArray());
            foreach (var key in new[] { "global", "user:alice", "team:payments" })
            {
                Assert.Equal(estimate, await store.GetSpendAsync(key, Today, default));
            }

            var response = await exchange.EvaluateResponseAsync(Response(prompt: 1200, completion: 9, cached: 1024));
            Assert.False(response.IsBlocked);
        }

        // 176 uncached × 0.15 + 1024 cached × 0.075 + 9 × 0.60, per million.
        foreach (var key in new[] { "global", "user:alice", "team:payments" })
        {
            Assert.Equal(0.0001086m, await store.GetSpendAsync(key, Today, default));
        }
    }

    [Fact]
    public async Task A_request_over_the_user_budget_gets_403_naming_the_scope_and_the_limit_not_the_user()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 100, max_daily_usd_per_user: 0.0005 }"), store);
        await using var first = engine.BeginExchange(new RequestContext { UserId = "alice@example.com" });
        Assert.False((await first.EvaluateRequestAsync(Request("hi", 500))).IsBlocked);

        await using var second = engine.BeginExchange(new RequestContext { UserId = "alice@example.com" });
        var evaluation = await second.EvaluateRequestAsync(Request("hi", 500));

        Assert.True(evaluation.IsBlocked);
        Assert.Equal(403, evaluation.Record.Status);
        Assert.Equal("spend_limit_exceeded", evaluation.Record.Code);
        Assert.Equal("spend-limit", evaluation.Record.BlockedBy);
        Assert.Contains("daily user spend limit of $0.0005", evaluation.Record.Reason, StringComparison.Ordinal);
        Assert.Contains("midnight UTC", evaluation.Record.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", evaluation.Record.Reason, StringComparison.Ordinal);
        var finding = Assert.Single(Assert.Single(evaluation.Record.Policies).Findings);
        Assert.Equal(("SPEND_LIMIT", "user"), (finding.Type, finding.Detail));

        // Another user is unaffected.
        await using var other = engine.BeginExchange(new RequestContext { UserId = "bob" });
        Assert.False((await other.EvaluateRequestAsync(Request("hi", 500))).IsBlocked);
    }

    [Fact]
    public async Task An_unpriced_model_is_refused_with_a_reason_for_the_operator_never_counted_as_free()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 100 }"), store);

        await using var exchange = engine.BeginExchange();
        var evaluation = await exchange.EvaluateRequestAsync(Request("hi", model: "o3-pro"));

        Assert.True(evaluation.IsBlocked);
        Assert.Equal(403, evaluation.Record.Status);
        Assert.Equal("spend_unpriced", evaluation.Record.Code);
        Assert.Contains("'o3-pro'", evaluation.Record.Reason, StringComparison.Ordinal);
        Assert.Contains("pricing", evaluation.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(0m, await store.GetSpendAsync("global", Today, default));
    }

    [Fact]
    public async Task An_unpriced_model_passes_when_no_limit_applies_to_the_caller()
    {
        var engine = Engine(Config("{ max_daily_usd_per_user: 1 }"), new InMemorySpendStore());

        await using var exchange = engine.BeginExchange();
        var evaluation = await exchange.EvaluateRequestAsync(Request("hi", model: "o3-pro"));

        Assert.Equal(PolicyDecision.Allow, evaluation.Decision);
    }

    [Fact]
    public async Task The_pinned_target_prices_the_request()
    {
        var extra = "    - id: azure\n      provider: openai\n      base_url: https://example.openai.azure.com\n      models:\n        - id: gpt-4o-mini\n          pricing: { input_usd_per_million: 1000, output_usd_per_million: 1000 }\n";
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 0.5 }", extraTargets: extra), store);

        await using (var cheap = engine.BeginExchange())
        {
            Assert.False((await cheap.EvaluateRequestAsync(Request("hi", 1000))).IsBlocked);
        }

        await using var dear = engine.BeginExchange(new RequestContext { TargetId = "azure" });
        var evaluation = await dear.EvaluateRequestAsync(Request("hi", 1000));

        Assert.True(evaluation.IsBlocked);
        Assert.Contains("more than the whole daily global spend limit of $0.5", evaluation.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Max_completion_tokens_wins_over_max_tokens_and_the_default_applies_without_either()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 100, estimated_output_tokens: 4096 }"), store);
        var prompt = EstimatePromptTokens("sys", "hi");

        await Reserve("""{"model":"gpt-4o-mini","messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}],"max_tokens":10,"max_completion_tokens":20}""", 20);
        await Reserve("""{"max_completion_tokens":null,"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}]}""", 10);
        await Reserve("""{"model":"gpt-4o-mini","messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}]}""", 4096);
        await Reserve("""{"model":"gpt-4o-mini","messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}],"max_tokens":-3}""", 4096);

        async Task Reserve(string body, long outputTokens)
        {
            await using var exchange = engine.BeginExchange();
            Assert.False((await exchange.EvaluateRequestAsync(Encoding.UTF8.GetBytes(body))).IsBlocked);
            Assert.Equal(ReferenceCost("0.15", "0.60", "0.075", prompt, outputTokens, 0), await store.GetSpendAsync("global", Today, default));
        }
    }

    [Fact]
    public async Task A_block_later_in_the_chain_releases_the_reservation()
    {
        var store = new InMemorySpendStore();
        var config = Config("{ max_daily_usd: 100 }");
        var spend = PolicyRegistry.All["spend-limit"].Create(config.Policy["spend-limit"], config, new PolicyServices { Time = TimeProvider.System, SpendStore = store, HttpClientFactory = static () => new HttpClient() });
        var chain = new PolicyChain([(spend, PolicyMode.Enforce), (TestPolicy.Blocking("later"), PolicyMode.Enforce)], config, FailMode.Block, TimeProvider.System);
        var day = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var state = new ExchangeState();

        var result = await chain.RunAsync(PolicyPhase.Input, OpenAIChatReader.ReadRequest(Request("hi", 100)), new RequestContext(), state, default);
        Assert.Equal("later", result.Record.BlockedBy);
        Assert.True(await store.GetSpendAsync("global", day, default) > 0);

        await state.DisposeAsync();

        Assert.Equal(0m, await store.GetSpendAsync("global", day, default));
    }

    [Fact]
    public async Task Usage_reported_without_an_output_phase_still_settles_because_the_provider_billed_it()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 100 }"), store);

        await using (var exchange = engine.BeginExchange())
        {
            await exchange.EvaluateRequestAsync(Request("hi", 100));
            exchange.ReportUsage(new TokenUsage(1_000_000, 0));
        }

        Assert.Equal(0.15m, await store.GetSpendAsync("global", Today, default));
    }

    [Fact]
    public async Task Evaluating_the_same_request_twice_holds_one_reservation()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 100 }"), store);
        var estimate = ReferenceCost("0.15", "0.60", "0.075", EstimatePromptTokens("You are a helpful assistant.", "hi"), 100, 0);

        await using var exchange = engine.BeginExchange();
        await exchange.EvaluateRequestAsync(Request("hi", 100));
        await exchange.EvaluateRequestAsync(Request("hi", 100));

        Assert.Equal(estimate, await store.GetSpendAsync("global", Today, default));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\u0000\u202e\ufeff\ud800 odd \ud83d\ude00")]
    [InlineData("\u65e5\u672c\u8a9e")]
    public async Task Odd_text_is_estimated_and_admitted(string text)
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 1 }"), store);

        await using var exchange = engine.BeginExchange();
        var evaluation = await exchange.EvaluateRequestAsync(Request(text, 10));

        Assert.False(evaluation.IsBlocked);
        Assert.True(await store.GetSpendAsync("global", Today, default) > 0);
    }

    [Fact]
    public async Task A_huge_prompt_is_refused_by_its_estimate_without_the_text_in_the_reason()
    {
        var engine = Engine(Config("{ max_daily_usd: 1 }"), new InMemorySpendStore());
        var huge = string.Concat(Enumerable.Repeat("secret-token-", 2_000_000));

        await using var exchange = engine.BeginExchange();
        var evaluation = await exchange.EvaluateRequestAsync(Request(huge, 10));

        Assert.True(evaluation.IsBlocked);
        Assert.DoesNotContain("secret", evaluation.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_body_is_rejected_before_anything_is_reserved()
    {
        var store = new InMemorySpendStore();
        var engine = Engine(Config("{ max_daily_usd: 1 }"), store);

        await using var exchange = engine.BeginExchange();
        var evaluation = await exchange.EvaluateRequestAsync("{\"model\":\"gpt-4o-mini\",\"messages\":[{"u8.ToArray());

        Assert.Equal(400, evaluation.Record.Status);
        Assert.Equal(0m, await store.GetSpendAsync("global", Today, default));
    }

    [Fact]
    public void A_time_zone_unknown_at_start_up_stops_the_engine_from_being_built()
    {
        // A document linted on another machine can name a zone this one does not have.
        var config = Config("{ max_daily_usd: 1 }");
        var settings = config.Policy["spend-limit"].Settings;
        var zone = new ConfigEntry(new ConfigScalar(default, "timezone", ScalarKind.String), new ConfigScalar(default, "Nowhere/Land", ScalarKind.String));
        var broken = config with
        {
            Policy = new Dictionary<string, PolicySettings>(StringComparer.OrdinalIgnoreCase)
            {
                ["spend-limit"] = new PolicySettings { Settings = new ConfigMapping(default, [.. settings.Entries, zone]) },
            },
        };

        var error = Assert.Throws<InvalidOperationException>(() => PolicyEngine.Create(broken));
        Assert.Contains("KT3502", error.Message, StringComparison.Ordinal);
    }
}
