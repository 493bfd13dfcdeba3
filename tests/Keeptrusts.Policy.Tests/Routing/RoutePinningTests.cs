using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RoutePinningTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    private ProviderRouter Router() => Routers.Create(
        Routers.Config() with
        {
            Targets =
            [
                Routers.Target("openai-primary", model: "gpt-4o", models: ["gpt-4o", "gpt-4o-mini"]),
                Routers.Target("anthropic-fallback", model: "claude-sonnet-4-20250514"),
                Routers.Target("open", model: null),
            ],
        },
        _clients,
        _time);

    [Fact]
    public void An_unknown_pinned_target_is_an_error_that_names_the_allowed_targets()
    {
        var plan = Router().Plan("gpt-4o", pinnedTarget: "openai-secondary");

        Assert.False(plan.IsValid);
        Assert.Equal("unknown_target", plan.ErrorCode);
        Assert.Contains("'openai-secondary'", plan.Error, StringComparison.Ordinal);
        Assert.Contains("allowed targets: openai-primary, anthropic-fallback, open", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pinned_model_the_target_does_not_serve_is_an_error_that_names_the_models_it_serves()
    {
        var plan = Router().Plan("gpt-4o", pinnedTarget: "openai-primary", pinnedModel: "gpt-5");

        Assert.False(plan.IsValid);
        Assert.Equal("model_not_served", plan.ErrorCode);
        Assert.Contains("it serves: gpt-4o, gpt-4o-mini", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_pin_names_its_target_and_model()
    {
        var router = Router();

        var pinned = router.Plan("gpt-4o", pinnedTarget: "OPENAI-PRIMARY", pinnedModel: "GPT-4O-MINI");
        var own = router.Plan("gpt-4o", pinnedTarget: "anthropic-fallback");
        var open = router.Plan("llama-3", pinnedTarget: "open", pinnedModel: "mistral-large");

        Assert.True(pinned.IsValid);
        Assert.True(pinned.IsPinned);
        Assert.Equal("openai-primary", pinned.TargetId);
        Assert.Equal("gpt-4o-mini", pinned.Model);
        Assert.Equal(["openai-primary"], pinned.TargetIds);
        Assert.Equal("claude-sonnet-4-20250514", own.Model);
        Assert.Equal("mistral-large", open.Model);
    }

    [Fact]
    public async Task A_pinned_request_only_ever_touches_its_target_retrying_it_with_backoff()
    {
        _clients.All(["openai-primary", "anthropic-fallback", "open"], static (_, _) => Responses.Answer(500));
        await using var router = Router();

        await using var result = await Routers.Send(router, _time, router.Plan("gpt-4o", pinnedTarget: "anthropic-fallback"));

        Assert.Equal(["anthropic-fallback", "anthropic-fallback", "anthropic-fallback"], _clients.Calls);
        Assert.Equal(502, result.Response.StatusCode);
    }

    [Fact]
    public async Task A_pinned_model_without_a_target_uses_only_targets_that_serve_it()
    {
        _clients.All(["openai-primary", "anthropic-fallback", "open"], static (_, _) => Responses.Answer(500));
        await using var router = Router();

        var plan = router.Plan("gpt-4o", pinnedModel: "gpt-4o-mini");
        await using var result = await Routers.Send(router, _time, plan);

        Assert.Equal(["openai-primary", "open"], plan.TargetIds);
        Assert.DoesNotContain("anthropic-fallback", _clients.Calls);
        Assert.All(_clients["openai-primary"].Requests, static r => Assert.Equal("gpt-4o-mini", r.Model));
        Assert.All(_clients["open"].Requests, static r => Assert.Equal("gpt-4o-mini", r.Model));
    }

    [Fact]
    public void An_unserved_pinned_model_without_a_target_names_the_served_models()
    {
        var router = Routers.Create(Routers.Config() with { Targets = [Routers.Target("a", model: "gpt-4o"), Routers.Target("b", model: "claude")] }, _clients, _time);

        var plan = router.Plan("gpt-4o", pinnedModel: "llama");

        Assert.Equal("model_not_served", plan.ErrorCode);
        Assert.Contains("served models: gpt-4o, claude", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Caller_values_quoted_in_errors_are_bounded()
    {
        var plan = Router().Plan("gpt-4o", pinnedTarget: new string('x', 5_000));

        Assert.True(plan.Error!.Length < 400, plan.Error);
    }
}

public class RouteAllowlistTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    private static (PolicyEngine Engine, PolicyConfig Config) Load(string allowlist)
    {
        var yaml = $$"""
            pack: { name: t, version: 1.0.0 }
            providers:
              targets:
                - { id: openai-primary, provider: openai, model: gpt-4o }
                - { id: openai-backup, provider: openai, model: gpt-4o }
                - { id: anthropic-fallback, provider: anthropic, model: claude-sonnet-4-20250514 }
            policies:
              chain: [model-allowlist]
            policy:
              model-allowlist: {{allowlist}}
            """;
        var result = PolicyConfigLoader.Parse(yaml);
        Assert.True(result.Config is not null, string.Join("\n", result.Diagnostics));
        return (PolicyEngine.Create(result.Config!), result.Config!);
    }

    [Fact]
    public async Task Routing_never_reaches_a_target_the_allowlist_forbids_even_as_a_fallback()
    {
        var (engine, config) = Load("{ targets: [openai-primary, anthropic-fallback] }");
        await using var router = Routers.Create(config.Providers, _clients, _time);
        _clients.All(["openai-primary", "openai-backup", "anthropic-fallback"], static (_, _) => Responses.Answer(503));

        var plan = router.Plan("gpt-4o", allowTarget: engine.AllowsTarget);
        await using var result = await Routers.Send(router, _time, plan);

        Assert.Equal(["openai-primary", "anthropic-fallback"], plan.TargetIds);
        Assert.DoesNotContain("openai-backup", _clients.Calls);
    }

    [Fact]
    public void A_model_allowlist_keeps_fallback_from_substituting_a_forbidden_model()
    {
        var (engine, config) = Load("{ models: [\"gpt-4o*\"] }");
        var router = Routers.Create(config.Providers, _clients, _time);

        var plan = router.Plan("gpt-4o", allowTarget: engine.AllowsTarget);

        Assert.Equal(["openai-primary", "openai-backup"], plan.TargetIds);
        Assert.True(engine.AllowsTarget("anthropic-fallback", "gpt-4o"));
        Assert.False(engine.AllowsTarget("anthropic-fallback", "claude-sonnet-4-20250514"));
    }

    [Fact]
    public void A_pin_to_a_forbidden_target_is_an_error_naming_the_allowed_ones()
    {
        var (engine, config) = Load("{ targets: [openai-primary] }");
        var router = Routers.Create(config.Providers, _clients, _time);

        var plan = router.Plan("gpt-4o", pinnedTarget: "openai-backup", allowTarget: engine.AllowsTarget);

        Assert.Equal("target_not_allowed", plan.ErrorCode);
        Assert.Contains("allowed targets: openai-primary", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void When_the_allowlist_leaves_no_target_the_plan_says_so()
    {
        var (engine, config) = Load("{ models: [gpt-3.5-turbo] }");
        var router = Routers.Create(config.Providers, _clients, _time);

        var plan = router.Plan("gpt-4o", allowTarget: engine.AllowsTarget);

        Assert.False(plan.IsValid);
        Assert.Equal("target_not_allowed", plan.ErrorCode);
        Assert.Contains("no provider target allowed by policy can serve model 'gpt-4o'", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_monitored_allowlist_or_none_at_all_allows_every_target()
    {
        var (monitored, _) = Load("{ mode: monitor, targets: [openai-primary] }");
        var none = PolicyEngine.Create(PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}").Config!);

        Assert.True(monitored.AllowsTarget("openai-backup", "gpt-4o"));
        Assert.True(none.AllowsTarget("anything", "any-model"));
    }
}
