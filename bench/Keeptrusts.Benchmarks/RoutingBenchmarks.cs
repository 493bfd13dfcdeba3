using System.Text;
using BenchmarkDotNet.Attributes;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// Cost of the provider router itself, with in-memory clients that answer at once: the selection step per strategy
/// (four targets serving the model), planning a request, and a whole send with and without one failover (backoff 0,
/// circuit breakers on), which measures the failover scheduling overhead: breaker, slot, attempt bookkeeping.
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}""");

    private ProviderRouter _router = null!;
    private ProviderRouter _failover = null!;
    private RoutePlan _plan = null!;
    private RoutePlan _failoverPlan = null!;
    private int[] _order = [];

    [Params(RoutingStrategy.Ordered, RoutingStrategy.RoundRobin, RoutingStrategy.Weighted, RoutingStrategy.LeastLatency, RoutingStrategy.Cost)]
    public RoutingStrategy Strategy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _router = ProviderRouter.Create(Config(Strategy), new InMemoryClients(failFirst: false), new ProviderRouterOptions { RandomSeed = 1 });
        _failover = ProviderRouter.Create(Config(Strategy), new InMemoryClients(failFirst: true), new ProviderRouterOptions { RandomSeed = 1 });
        _plan = _router.Plan("gpt-4o");
        _failoverPlan = _failover.Plan("gpt-4o", pinnedModel: null);
        _order = new int[_plan.TargetIds.Count];

        // Give least_latency something to compare.
        for (var i = 0; i < 8; i++)
        {
            _router.SendAsync(_plan, Body, false, default).AsTask().GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _router.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _failover.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The selection step alone: order the plan's candidates (the aim is ≤ 100 ns and nothing allocated).</summary>
    [Benchmark]
    public int Select()
    {
        _router.Order(_plan, _order);
        return _order[0];
    }

    /// <summary>Planning an unpinned request for a declared model (a cached plan).</summary>
    [Benchmark]
    public RoutePlan Plan() => _router.Plan("gpt-4o");

    /// <summary>A whole routed request that the first target answers.</summary>
    [Benchmark]
    public async Task<int> Send()
    {
        await using var result = await _router.SendAsync(_plan, Body, false, default);
        return result.Response.StatusCode;
    }

    /// <summary>A routed request whose first attempt fails with 503 and falls back (no backoff).</summary>
    [Benchmark]
    public async Task<int> SendWithFailover()
    {
        await using var result = await _failover.SendAsync(_failoverPlan, Body, false, default);
        return result.Response.StatusCode;
    }

    private static ProvidersConfig Config(RoutingStrategy strategy) => new()
    {
        Targets =
        [
            .. Enumerable.Range(0, 4).Select(static i => new ProviderTarget
            {
                Id = "target-" + i,
                Provider = "openai",
                Model = "gpt-4o",
                Weight = i + 1,
                Pricing = new ModelPricing { InputUsdPerMillion = 4 - i, OutputUsdPerMillion = 10 },
            }),
        ],
        Routing = new RoutingConfig { Strategy = strategy },

        // The failover benchmark keeps failing its first target, which would open its breaker and skip it: keep it closed.
        CircuitBreaker = new CircuitBreakerConfig { FailureRatio = 1, MinimumThroughput = int.MaxValue },
        Fallback = new FallbackConfig { InitialBackoffMs = 0, MaxBackoffMs = 0 },
    };

    /// <summary>Clients that answer at once from prepared responses; with failFirst, every other attempt is a 503.</summary>
    private sealed class InMemoryClients(bool failFirst) : IProviderClientFactory, IProviderClient
    {
        private static readonly ProviderResponse Ok = new(200, Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion","choices":[]}"""));
        private static readonly ProviderResponse Unavailable = new(503, Encoding.UTF8.GetBytes("""{"error":{"message":"busy","type":"server_error","param":null,"code":null}}"""));
        private int _calls;

        public IProviderClient Create(ProviderTarget target) => this;

        public ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(failFirst && (++_calls & 1) == 1 ? Unavailable : Ok);

        public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
