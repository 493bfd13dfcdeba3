using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteStrategyTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    [Fact]
    public async Task Ordered_tries_targets_in_declared_order()
    {
        _clients.All(["a", "b"], static (_, _) => Responses.Answer(500));
        await using var router = Routers.Create(Routers.Config(3), _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.True(result.Response.StatusCode == 200, Responses.Text(result.Response.Body));
        Assert.Equal(["a", "b", "c"], _clients.Calls);
        Assert.Equal("c", result.TargetId);
        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal(["server_error", "server_error", "ok"], result.Attempts.Select(static a => a.Outcome));
    }

    [Fact]
    public async Task Round_robin_starts_each_request_at_the_next_target_and_falls_back_in_turn()
    {
        await using var router = Routers.Create(Routers.Config(3, RoutingStrategy.RoundRobin), _clients, _time);

        var first = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            await using var result = await Routers.Send(router, _time);
            first.Add(result.TargetId!);
        }

        Assert.Equal(["a", "b", "c", "a", "b", "c"], first);

        // The seventh request starts at a; the eighth at b, whose fallback continues in rotation order: c, then a.
        await using (await Routers.Send(router, _time))
        {
        }

        _clients.All(["b", "c"], static (_, _) => Responses.Answer(503));
        _clients.Calls.Clear();
        await using (await Routers.Send(router, _time))
        {
        }

        Assert.Equal(["b", "c", "a"], _clients.Calls);
    }

    [Fact]
    public async Task Weighted_never_starts_at_a_weight_zero_target_but_falls_back_to_it()
    {
        var config = Routers.Config(strategy: RoutingStrategy.Weighted) with
        {
            Targets = [Routers.Target("a", weight: 0), Routers.Target("b", weight: 3), Routers.Target("c", weight: 1)],
        };
        await using var router = Routers.Create(config, _clients, _time);

        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        for (var i = 0; i < 400; i++)
        {
            await using var result = await Routers.Send(router, _time);
            counts[result.TargetId!]++;
        }

        Assert.Equal(0, counts["a"]);
        Assert.InRange(counts["b"], 240, 360);
        Assert.Equal(400, counts["b"] + counts["c"]);

        _clients.All(["b", "c"], static (_, _) => Responses.Answer(500));
        _clients.Calls.Clear();
        await using var fallback = await Routers.Send(router, _time);
        Assert.Equal("a", fallback.TargetId);
        Assert.Equal("a", _clients.Calls.Last());
    }

    [Fact]
    public async Task Least_latency_prefers_the_target_with_the_lowest_moving_average()
    {
        var time = _time;
        _clients["a"].OnSend = (_, ct) => Responses.After(time, TimeSpan.FromMilliseconds(300), 200, ct);
        _clients["b"].OnSend = (_, ct) => Responses.After(time, TimeSpan.FromMilliseconds(40), 200, ct);
        await using var router = Routers.Create(Routers.Config(2, RoutingStrategy.LeastLatency), _clients, _time);

        var used = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            await using var result = await Routers.Send(router, _time);
            used.Add(result.TargetId!);
        }

        // Untried targets score 0, so a is tried first (declared order), then b (untried), then b wins on latency.
        Assert.Equal(["a", "b", "b", "b"], used);
        var metrics = router.GetMetrics().Targets;
        Assert.Equal(300, metrics[0].LatencyEwmaMs);
        Assert.Equal(40, metrics[1].LatencyEwmaMs);
    }

    [Fact]
    public async Task Cost_prefers_the_cheapest_target_for_the_model_and_puts_unpriced_ones_last()
    {
        var config = Routers.Config(strategy: RoutingStrategy.Cost) with
        {
            Targets =
            [
                Routers.Target("unpriced"),
                Routers.Target("dear", pricing: new ModelPricing { InputUsdPerMillion = 5, OutputUsdPerMillion = 15 }),
                new ProviderTarget
                {
                    Id = "cheap",
                    Provider = "openai",
                    Models = [new ModelDefinition { Id = "gpt-4o", Pricing = new ModelPricing { InputUsdPerMillion = 2, OutputUsdPerMillion = 8 } }],
                },
            ],
        };
        _clients.All(["cheap", "dear", "unpriced"], static (_, _) => Responses.Answer(500));
        await using var router = Routers.Create(config, _clients, _time);

        var plan = router.Plan("gpt-4o");
        Assert.Equal(["cheap", "dear", "unpriced"], plan.TargetIds);
        await using var result = await Routers.Send(router, _time, plan);

        Assert.Equal(["cheap", "dear", "unpriced"], _clients.Calls);
        Assert.Equal(502, result.Response.StatusCode);
    }

    [Fact]
    public async Task Targets_serving_the_model_come_first_then_the_others_with_their_own_model()
    {
        var config = Routers.Config() with
        {
            Targets =
            [
                Routers.Target("claude", model: "claude-sonnet-4-20250514"),
                Routers.Target("openai", model: null, models: ["gpt-4o", "gpt-4o-mini"]),
                Routers.Target("open-ended", model: null),
            ],
        };
        _clients.All(["claude", "openai", "open-ended"], static (_, _) => Responses.Answer(500));
        await using var router = Routers.Create(config, _clients, _time);

        var plan = router.Plan("GPT-4o-mini");
        Assert.Equal(["openai", "open-ended", "claude"], plan.TargetIds);
        await using (await Routers.Send(router, _time, plan))
        {
        }

        Assert.Equal("gpt-4o-mini", _clients["openai"].Requests.Single().Model);
        // Models match case-insensitively; the spelling a target declares is the one sent.
        Assert.Equal("gpt-4o-mini", _clients["open-ended"].Requests.Single().Model);
        Assert.Equal("claude-sonnet-4-20250514", _clients["claude"].Requests.Single().Model);
    }

    [Fact]
    public void A_model_no_target_serves_goes_to_every_target_that_declares_one_with_its_own_model()
    {
        var config = Routers.Config() with
        {
            Targets = [Routers.Target("claude", model: "claude-sonnet-4-20250514"), Routers.Target("mini", model: null, models: ["gpt-4o-mini"])],
        };
        var router = Routers.Create(config, _clients, _time);

        var plan = router.Plan("llama-3");
        var none = router.Plan(null);

        Assert.True(plan.IsValid);
        Assert.Equal(["claude", "mini"], plan.TargetIds);
        Assert.Equal("claude-sonnet-4-20250514", plan.Model);
        Assert.Equal(["claude", "mini"], none.TargetIds);
    }

    [Fact]
    public void A_request_without_a_model_needs_a_target_that_declares_one()
    {
        var config = Routers.Config() with { Targets = [Routers.Target("any", model: null)] };
        var router = Routers.Create(config, _clients, _time);

        var plan = router.Plan(null);

        Assert.False(plan.IsValid);
        Assert.Equal("model_required", plan.ErrorCode);
        Assert.True(router.Plan("whatever").IsValid);
    }

    [Fact]
    public void Models_lists_every_declared_model_with_its_target()
    {
        var config = Routers.Config() with
        {
            Targets = [Routers.Target("a", model: "gpt-4o", models: ["gpt-4o", "gpt-4o-mini"]), Routers.Target("b", model: null), Routers.Target("c", model: "claude")],
        };
        var router = Routers.Create(config, _clients, _time);

        Assert.Equal(
            [new RoutableModel("gpt-4o", "a"), new RoutableModel("gpt-4o-mini", "a"), new RoutableModel("claude", "c")],
            router.Models);
    }

    [Fact]
    public void The_selection_step_orders_without_allocating_for_every_strategy()
    {
        foreach (var strategy in Enum.GetValues<RoutingStrategy>())
        {
            var router = Routers.Create(Routers.Config(4, strategy), _clients, _time);
            var plan = router.Plan("gpt-4o");
            var order = new int[plan.TargetIds.Count];
            router.Order(plan, order);

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                router.Order(plan, order);
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal([0, 1, 2, 3], order.Order());
        }
    }
}
