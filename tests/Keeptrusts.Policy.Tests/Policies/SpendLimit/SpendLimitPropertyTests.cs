using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.SpendLimit.SpendTestKit;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

/// <summary>The decision rules of spend-limit as properties, run through the engine with real OpenAI bodies.</summary>
public class SpendLimitPropertyTests
{
    private const string System = "You are a helpful assistant.";
    private const string In = "0.15", Out = "0.60", Cached = "0.075";

    private static readonly DateOnly Today = new(2025, 3, 14);

    /// <summary>A request: its prompt length and cap, and what the provider then does.</summary>
    private sealed record Call(int PromptChars, int MaxTokens, bool Responds, int Prompt, int Completion, int CachedTokens, int User)
    {
        public string Text => new('q', PromptChars);

        public decimal Estimate => ReferenceCost(In, Out, Cached, EstimatePromptTokens(System, Text), MaxTokens, 0);

        public decimal Actual => ReferenceCost(In, Out, Cached, Prompt, Completion, CachedTokens);
    }

    private static readonly Gen<Call> Calls =
        from chars in Gen.Choose(0, 4000)
        from max in Gen.Choose(1, 50_000)
        from responds in Gen.Elements(true, true, false)
        from prompt in Gen.Choose(0, 10_000)
        from completion in Gen.Choose(0, 60_000)
        from cached in Gen.Choose(0, prompt)
        from user in Gen.Choose(0, 3)
        select new Call(chars, max, responds, prompt, completion, cached, user);

    private static decimal Usd(int tenThousandths) => tenThousandths / 10_000m;

    [Fact]
    public void Concurrent_requests_never_hold_more_than_the_limit_and_overrun_it_only_by_settled_overruns()
    {
        var gen = Gen.Zip(Gen.Choose(0, 2000), Gen.ListOf(Calls).Select(static l => l.Take(40).ToArray()));
        Properties.ForAll(gen, input =>
        {
            var (limitUnits, calls) = input;
            var limit = Usd(limitUnits);
            var store = new AuditingSpendStore(new InMemorySpendStore(), "global", limit);
            var engine = Engine(Config($"{{ max_daily_usd: {limit.ToString(CultureInfo.InvariantCulture)} }}"), store);

            var outcomes = Task.WhenAll(calls.Select(call => Task.Run(async () =>
            {
                await using var exchange = engine.BeginExchange();
                var request = await exchange.EvaluateRequestAsync(Request(call.Text, call.MaxTokens));
                if (request.IsBlocked)
                {
                    Assert.Equal(SpendLimitCodes.Exceeded, request.Record.Code);
                    Assert.Equal(403, request.Record.Status);
                    return 0m;
                }

                if (!call.Responds)
                {
                    return 0m;
                }

                var response = await exchange.EvaluateResponseAsync(Response(call.Prompt, call.Completion, call.CachedTokens));
                Assert.False(response.IsBlocked);
                return call.Actual;
            }))).GetAwaiter().GetResult();

            Assert.Empty(store.Violations);
            Assert.Equal(0m, store.Outstanding);
            var spent = store.GetSpendAsync("global", Today, default).AsTask().GetAwaiter().GetResult();
            Assert.Equal(outcomes.Sum(), spent);
            Assert.True(spent <= limit + store.Overrun);
        }, maxTest: 150);
    }

    [Fact]
    public void On_an_empty_budget_a_request_is_admitted_exactly_when_its_estimate_fits()
    {
        var gen = Gen.Zip(Gen.Choose(0, 400), Calls);
        Properties.ForAll(gen, input =>
        {
            var (limitUnits, call) = input;
            var limit = Usd(limitUnits);
            var store = new InMemorySpendStore();
            var engine = Engine(Config($"{{ max_daily_usd: {limit.ToString(CultureInfo.InvariantCulture)} }}"), store);

            var exchange = engine.BeginExchange();
            var evaluation = exchange.EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();

            Assert.Equal(call.Estimate > limit, evaluation.IsBlocked);
            var held = store.GetSpendAsync("global", Today, default).AsTask().GetAwaiter().GetResult();
            Assert.Equal(evaluation.IsBlocked ? 0m : call.Estimate, held);
            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Assert.Equal(0m, store.GetSpendAsync("global", Today, default).AsTask().GetAwaiter().GetResult());
        }, maxTest: 300);
    }

    [Fact]
    public void A_request_whose_estimate_alone_exceeds_a_limit_is_blocked_whatever_else_is_true()
    {
        var gen = from call in Calls from divisor in Gen.Choose(1, 10_000) from key in Gen.Elements("max_daily_usd", "max_daily_usd_per_user", "max_daily_usd_per_team") select (call, divisor, key);
        Properties.ForAll(gen, input =>
        {
            var (call, divisor, key) = input;
            var limit = decimal.Round(call.Estimate * (divisor - 1) / divisor, 9, MidpointRounding.ToZero);
            var store = new InMemorySpendStore();
            var engine = Engine(Config($"{{ {key}: {limit.ToString(CultureInfo.InvariantCulture)}, mode: enforce }}"), store);

            var evaluation = engine.BeginExchange(new RequestContext { UserId = "u" + call.User, Team = "t" })
                .EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();

            Assert.True(evaluation.IsBlocked);
            Assert.Equal(SpendLimitCodes.Exceeded, evaluation.Record.Code);
            Assert.Contains("more than the whole daily", evaluation.Record.Reason, StringComparison.Ordinal);
            var finding = Assert.Single(Assert.Single(evaluation.Record.Policies).Findings);
            Assert.Equal(key switch { "max_daily_usd" => "global", "max_daily_usd_per_user" => "user", _ => "team" }, finding.Detail);
        });
    }

    [Fact]
    public void Ending_an_exchange_without_a_response_returns_spend_to_exactly_what_it_was()
    {
        var gen = Gen.Zip(Gen.ListOf(Calls).Select(static l => l.Take(10).ToArray()), Calls);
        Properties.ForAll(gen, input =>
        {
            var (before, call) = input;
            var store = new InMemorySpendStore();
            var engine = Engine(Config("{ max_daily_usd: 1000000 }"), store);
            foreach (var earlier in before)
            {
                Run(engine, earlier);
            }

            var was = Spend(store);
            var exchange = engine.BeginExchange();
            var evaluation = exchange.EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();
            Assert.False(evaluation.IsBlocked);
            Assert.Equal(was + call.Estimate, Spend(store));

            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();

            Assert.Equal(was, Spend(store));
        });
    }

    [Fact]
    public void A_response_settles_to_its_usage_and_one_without_usage_settles_at_the_estimate()
    {
        var gen = Gen.Zip(Calls, Gen.Elements("body", "reported", "none"));
        Properties.ForAll(gen, input =>
        {
            var (call, how) = input;
            var store = new InMemorySpendStore();
            var engine = Engine(Config("{ max_daily_usd: 1000000 }"), store);

            var exchange = engine.BeginExchange();
            exchange.EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();
            switch (how)
            {
                case "body":
                    exchange.EvaluateResponseAsync(Response(call.Prompt, call.Completion, call.CachedTokens)).AsTask().GetAwaiter().GetResult();
                    break;
                case "reported":
                    // A stream: usage arrives in the last chunk, reported before the output phase ends.
                    exchange.ReportUsage(new TokenUsage(call.Prompt, call.Completion, call.CachedTokens));
                    exchange.EvaluateResponseAsync("""{"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}"""u8.ToArray()).AsTask().GetAwaiter().GetResult();
                    break;
                default:
                    exchange.EvaluateResponseAsync("""{"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}"""u8.ToArray()).AsTask().GetAwaiter().GetResult();
                    break;
            }

            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();

            Assert.Equal(how == "none" ? call.Estimate : call.Actual, Spend(store));
        });
    }

    [Fact]
    public void Recorded_spend_is_exact_for_prices_with_many_decimals()
    {
        var price = from whole in Gen.Choose(0, 99)
                    from high in Gen.Choose(0, 999_999)
                    from low in Gen.Choose(0, 999_999)
                    select string.Create(CultureInfo.InvariantCulture, $"{whole}.{high:D6}{low:D6}");
        var usage = from prompt in Gen.Choose(0, 2_000_000) from completion in Gen.Choose(0, 2_000_000) from cached in Gen.Choose(0, 2_000_000) select (prompt, completion, cached);
        var prices = from pin in price from pout in price from pcached in price select (pin, pout, pcached);
        var gen = Gen.Zip(prices, Gen.ListOf(usage).Select(static l => l.Take(8).ToArray()));
        Properties.ForAll(gen, input =>
        {
            var ((pin, pout, pcached), usages) = input;
            var store = new InMemorySpendStore();
            var config = Config("{ max_daily_usd: 1000000000 }", $"{{ input_usd_per_million: {pin}, output_usd_per_million: {pout}, cached_input_usd_per_million: {pcached} }}");
            var engine = Engine(config, store);

            var expected = 0m;
            foreach (var (prompt, completion, cached) in usages)
            {
                var exchange = engine.BeginExchange();
                exchange.EvaluateRequestAsync(Request("hello", 16)).AsTask().GetAwaiter().GetResult();
                exchange.EvaluateResponseAsync(Response(prompt, completion, cached)).AsTask().GetAwaiter().GetResult();
                exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
                expected += ReferenceCost(pin, pout, pcached, prompt, completion, cached);
            }

            Assert.Equal(expected, Spend(store));
        }, maxTest: 100);
    }

    [Fact]
    public void The_budget_day_rolls_over_at_midnight_in_the_configured_time_zone()
    {
        var zones = Gen.Elements("UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Kiritimati", "Etc/GMT+12");
        var gen = from zone in zones from day in Gen.Choose(0, 364) from second in Gen.Choose(0, (24 * 3600) - 2) select (zone, day, second);
        Properties.ForAll(gen, input =>
        {
            var (zoneId, dayOfYear, secondOfDay) = input;
            var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
            var localStart = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).AddDays(dayOfYear).AddSeconds(secondOfDay);
            var nextMidnight = localStart.Date.AddDays(1);
            if (zone.IsInvalidTime(localStart) || zone.IsAmbiguousTime(localStart) || zone.IsInvalidTime(nextMidnight))
            {
                return;
            }

            var clock = new FakeTimeProvider(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(localStart, zone), TimeSpan.Zero));
            var store = new InMemorySpendStore();
            var call = new Call(100, 1000, false, 0, 0, 0, 0);
            var limit = call.Estimate.ToString(CultureInfo.InvariantCulture);
            var engine = Engine(Config($"{{ max_daily_usd: {limit}, timezone: {zoneId} }}"), store, clock);

            // The first request takes the whole day's budget and keeps it (its exchange stays open).
            Assert.False(Evaluate(engine, call).IsBlocked);
            Assert.True(Evaluate(engine, call).IsBlocked);

            clock.SetUtcNow(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(nextMidnight, zone), TimeSpan.Zero).AddSeconds(-1));
            Assert.True(Evaluate(engine, call).IsBlocked);

            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.False(Evaluate(engine, call).IsBlocked);
            Assert.Equal(call.Estimate, store.GetSpendAsync("global", DateOnly.FromDateTime(nextMidnight), default).AsTask().GetAwaiter().GetResult());
        }, maxTest: 300);
    }

    [Fact]
    public void Per_user_limits_are_independent_across_users()
    {
        var gen = Gen.Zip(Gen.Choose(0, 1000), Gen.ListOf(Calls).Select(static l => l.Take(30).ToArray()));
        Properties.ForAll(gen, input =>
        {
            var (limitUnits, calls) = input;
            var limit = Usd(limitUnits);
            var store = new InMemorySpendStore();
            var engine = Engine(Config($"{{ max_daily_usd_per_user: {limit.ToString(CultureInfo.InvariantCulture)} }}"), store);
            var model = new decimal[4];

            foreach (var call in calls)
            {
                // User 0 stands for a caller without identity: no per-user budget applies to it.
                var user = call.User == 0 ? null : "user-" + call.User;
                var admitted = Run(engine, call, new RequestContext { UserId = user });

                var fits = user is null || model[call.User] + call.Estimate <= limit;
                Assert.Equal(fits, admitted);
                if (admitted && user is not null && call.Responds)
                {
                    model[call.User] += call.Actual;
                }
            }

            for (var u = 1; u < 4; u++)
            {
                Assert.Equal(model[u], store.GetSpendAsync("user:user-" + u, Today, default).AsTask().GetAwaiter().GetResult());
            }
        });
    }

    [Fact]
    public void Monitor_mode_records_the_block_it_would_make_but_lets_the_request_through()
    {
        Properties.ForAll(Calls, call =>
        {
            var store = new InMemorySpendStore();
            var engine = Engine(Config("{ max_daily_usd: 0, mode: monitor }"), store);

            var evaluation = Evaluate(engine, call);

            Assert.False(evaluation.IsBlocked);
            Assert.Equal(PolicyDecision.Flag, evaluation.Decision);
            var outcome = Assert.Single(evaluation.Record.Policies);
            Assert.Equal(PolicyDecision.Block, outcome.Decision);
            Assert.False(outcome.Enforced);
            Assert.Equal(0m, Spend(store));
        }, maxTest: 50);
    }

    private static PolicyEvaluation Evaluate(PolicyEngine engine, Call call, RequestContext? context = null) =>
        engine.BeginExchange(context).EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();

    /// <summary>Runs one exchange to its end; true when the request was admitted.</summary>
    private static bool Run(PolicyEngine engine, Call call, RequestContext? context = null)
    {
        var exchange = engine.BeginExchange(context);
        try
        {
            var request = exchange.EvaluateRequestAsync(Request(call.Text, call.MaxTokens)).AsTask().GetAwaiter().GetResult();
            if (!request.IsBlocked && call.Responds)
            {
                exchange.EvaluateResponseAsync(Response(call.Prompt, call.Completion, call.CachedTokens)).AsTask().GetAwaiter().GetResult();
            }

            return !request.IsBlocked;
        }
        finally
        {
            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static decimal Spend(InMemorySpendStore store) => store.GetSpendAsync("global", Today, default).AsTask().GetAwaiter().GetResult();
}

/// <summary>The codes callers get, as the tests expect them spelled on the wire.</summary>
internal static class SpendLimitCodes
{
    public const string Exceeded = "spend_limit_exceeded";
    public const string Unpriced = "spend_unpriced";
}
