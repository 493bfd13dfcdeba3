using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Routing;

/// <summary>The router's decision rules as properties over generated configurations and upstream behaviour.</summary>
public class RoutePropertyTests
{
    private static readonly string[] Failures = ["429", "429ra", "500", "503", "refused", "reset", "invalid", "hang", "400", "404"];

    private static readonly Gen<string[]> Scripts =
        Gen.ArrayOf(Gen.Elements(["200", .. Failures]), 12);

    private static readonly Gen<FallbackTrigger[]> TriggerSets =
        Gen.SubListOf([FallbackTrigger.RateLimit, FallbackTrigger.ServerError, FallbackTrigger.Timeout]).Select(static l => l.ToArray());

    private static readonly Gen<Scenario> Scenarios =
        from targets in Gen.Choose(1, 4)
        from maxFallback in Gen.Choose(0, 4)
        from strategy in Gen.Elements(Enum.GetValues<RoutingStrategy>())
        from triggers in TriggerSets
        from script in Scripts
        from overall in Gen.Choose(500, 6_000)
        from timeout in Gen.Choose(100, 3_000)
        from backoff in Gen.Choose(0, 400)
        from retryAfter in Gen.Choose(0, 4_000)
        from seed in Gen.Choose(0, 1_000)
        select new Scenario(targets, maxFallback, strategy, triggers, script, overall, timeout, backoff, retryAfter, seed);

    [Fact]
    public void Attempts_never_exceed_max_fallback_attempts_plus_one()
    {
        Properties.ForAll(Scenarios, scenario =>
        {
            var run = scenario.Run(plan: null);

            Assert.InRange(run.Result.Attempts.Count, 1, scenario.MaxFallback + 1);
            Assert.Equal(run.Calls, run.Result.Attempts.Select(static a => a.TargetId));
        }, maxTest: 150);
    }

    [Fact]
    public void A_pinned_request_only_ever_touches_its_target()
    {
        var cases = from scenario in Scenarios from pin in Gen.Choose(0, 3) select (scenario, pin: pin % scenario.Targets);
        Properties.ForAll(cases, input =>
        {
            var pinned = Scenario.Id(input.pin);
            var run = input.scenario.Run(router => router.Plan("gpt-4o", pinnedTarget: pinned));

            Assert.All(run.Calls, id => Assert.Equal(pinned, id));
            Assert.True(run.Result.TargetId is null || run.Result.TargetId == pinned);
        }, maxTest: 150);
    }

    [Fact]
    public void Non_trigger_errors_never_fall_back()
    {
        var cases = from scenario in Scenarios
                    from status in Gen.Elements(400, 401, 403, 404, 409, 422)
                    from position in Gen.Choose(0, 11)
                    select (scenario, status, position);
        Properties.ForAll(cases, input =>
        {
            var script = input.scenario.Script.ToArray();
            script[input.position] = input.status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var run = (input.scenario with { Script = script }).Run(plan: null);

            var clientError = run.Result.Attempts.ToList().FindIndex(static a => a.Outcome == "client_error");
            if (clientError >= 0)
            {
                // The first client error ends the request, and it is what the caller gets, as the upstream said it.
                Assert.Equal(run.Result.Attempts.Count - 1, clientError);
                Assert.False(run.Result.IsSynthesized);
                Assert.Equal(run.Result.Attempts[clientError].StatusCode, run.Result.Response.StatusCode);
            }
        }, maxTest: 150);
    }

    [Fact]
    public void The_overall_deadline_holds_across_attempts_backoffs_and_retry_after()
    {
        Properties.ForAll(Scenarios, scenario =>
        {
            var run = scenario.Run(plan: null);

            Assert.True(run.Elapsed <= TimeSpan.FromMilliseconds(scenario.OverallMs), $"{run.Elapsed} > {scenario.OverallMs} ms");
        }, maxTest: 150);
    }

    [Fact]
    public void An_open_breakers_target_is_never_chosen_while_a_closed_one_can_serve()
    {
        var cases = from count in Gen.Choose(2, 5)
                    from open in Gen.ArrayOf(Gen.Elements(true, false), 5)
                    from strategy in Gen.Elements(Enum.GetValues<RoutingStrategy>())
                    from seed in Gen.Choose(0, 1_000)
                    select (count, open: open.Take(count).ToArray(), strategy, seed);
        Properties.ForAll(cases, input =>
        {
            var time = new ManualTime();
            var clients = new TestProviderClientFactory();
            var breaker = new CircuitBreakerConfig { MinimumThroughput = 2, FailureRatio = 0.5, SamplingDurationMs = 10_000, BreakDurationMs = 30_000 };
            var config = Routers.Config(input.count, input.strategy, new FallbackConfig { MaxFallbackAttempts = 0 }, breaker);
            var router = Routers.Create(config, clients, time, seed: input.seed);
            for (var i = 0; i < input.count; i++)
            {
                if (input.open[i])
                {
                    clients[Scenario.Id(i)].OnSend = static (_, _) => Responses.Answer(500);
                    for (var n = 0; n < 2; n++)
                    {
                        Routers.Send(router, time, router.Plan("gpt-4o", pinnedTarget: Scenario.Id(i))).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                }
            }

            clients.All(Enumerable.Range(0, input.count).Select(Scenario.Id), static (_, _) => Responses.Answer(200));
            while (clients.Calls.TryDequeue(out _))
            {
            }

            var result = Routers.Send(router, time).GetAwaiter().GetResult();
            var openIds = Enumerable.Range(0, input.count).Where(i => input.open[i]).Select(Scenario.Id).ToHashSet();
            Assert.DoesNotContain(clients.Calls, openIds.Contains);
            if (openIds.Count < input.count)
            {
                Assert.Equal(200, result.Response.StatusCode);
                Assert.DoesNotContain(result.TargetId!, openIds);
            }
            else
            {
                Assert.Equal(503, result.Response.StatusCode);
            }

            result.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }, maxTest: 60);
    }

    [Fact]
    public void Weighted_selection_converges_to_the_weights()
    {
        var weightSets = Gen.ArrayOf(Gen.Choose(0, 6), 4)
            .SelectMany(w => Gen.Choose(2, 4).Select(n => w.Take(n).ToArray()))
            .Where(static w => w.Any(static x => x > 0));
        Properties.ForAll(weightSets, weights =>
        {
            var config = Routers.Config(strategy: RoutingStrategy.Weighted) with
            {
                Targets = [.. weights.Select((w, i) => Routers.Target(Scenario.Id(i), weight: w))],
            };
            var router = Routers.Create(config, new TestProviderClientFactory(), new ManualTime(), seed: 12_345);
            var plan = router.Plan("gpt-4o");
            var order = new int[weights.Length];
            var first = new int[weights.Length];
            const int Samples = 4_000;
            for (var i = 0; i < Samples; i++)
            {
                router.Order(plan, order);
                first[order[0]]++;
            }

            var total = weights.Sum();
            var chiSquare = 0.0;
            for (var i = 0; i < weights.Length; i++)
            {
                if (weights[i] == 0)
                {
                    Assert.Equal(0, first[i]);
                    continue;
                }

                var expected = Samples * (double)weights[i] / total;
                chiSquare += Math.Pow(first[i] - expected, 2) / expected;
            }

            // At most 3 degrees of freedom: 16.3 is the 0.1 % critical value, so a fair sampler fails this once in a thousand.
            Assert.True(chiSquare < 16.3, $"weights [{string.Join(", ", weights)}] drew [{string.Join(", ", first)}]: chi-square {chiSquare:F1}");
        }, maxTest: 40);
    }

    internal sealed record Scenario(int Targets, int MaxFallback, RoutingStrategy Strategy, FallbackTrigger[] Triggers, string[] Script, int OverallMs, int TimeoutMs, int BackoffMs, int RetryAfterMs, int Seed)
    {
        public static string Id(int index) => ((char)('a' + index)).ToString();

        public override string ToString() =>
            $"targets={Targets} max_fallback={MaxFallback} {Strategy} triggers=[{string.Join(",", Triggers)}] overall={OverallMs} timeout={TimeoutMs} backoff={BackoffMs} retry_after={RetryAfterMs} script=[{string.Join(",", Script)}]";

        public (RouteResult Result, List<string> Calls, TimeSpan Elapsed) Run(Func<ProviderRouter, RoutePlan>? plan)
        {
            var time = new ManualTime();
            var clients = new TestProviderClientFactory();
            var config = new ProvidersConfig
            {
                Targets = [.. Enumerable.Range(0, Targets).Select(i => Routers.Target(Id(i), timeoutMs: TimeoutMs))],
                Routing = new RoutingConfig { Strategy = Strategy },
                Fallback = new FallbackConfig
                {
                    Triggers = Triggers,
                    MaxFallbackAttempts = MaxFallback,
                    InitialBackoffMs = BackoffMs,
                    MaxBackoffMs = BackoffMs * 4,
                    OverallTimeoutMs = OverallMs,
                    MaxRetryAfterMs = 2_000,
                },
                CircuitBreaker = new CircuitBreakerConfig { Enabled = false },
            };
            var next = -1;
            var retryAfter = TimeSpan.FromMilliseconds(RetryAfterMs);
            clients.All(Enumerable.Range(0, Targets).Select(Id), (request, ct) =>
            {
                var step = Script[Math.Min(Interlocked.Increment(ref next), Script.Length - 1)];
                return step == "429ra" ? Responses.Answer(429, retryAfter) : RouteFallbackTests.Failing(step)(request, ct);
            });

            var router = Routers.Create(config, clients, time, seed: Seed);
            var started = time.GetUtcNow();
            var result = Routers.Send(router, time, plan?.Invoke(router)).GetAwaiter().GetResult();
            var elapsed = time.GetUtcNow() - started;
            result.DisposeAsync().AsTask().GetAwaiter().GetResult();
            router.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return (result, [.. clients.Calls], elapsed);
        }
    }
}
