using System.Net;
using System.Text;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Valkey.Tests;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>
/// Two gateway instances (two real hosts on their own loopback ports) sharing one real Valkey/Redis server: limits,
/// budgets and fingerprints hold across both, and an outage of the server fails no request.
/// </summary>
[Collection(ValkeyCollection.Name)]
public sealed class SharedStateTests(ValkeyServer valkey)
{
    private static readonly TimeSpan Bound = GatewayUnderTest.Bound;

    [Fact]
    public async Task A_limit_of_n_per_minute_admits_exactly_n_across_both_instances_under_concurrent_load()
    {
        await using var pair = await Pair.StartAsync(valkey.Url, requestsPerMinute: 20);

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => pair[i % 2].ChatAsync("hello " + i))).WaitAsync(Bound);

        Assert.Equal(20, responses.Count(static r => r.StatusCode == HttpStatusCode.OK));
        var limited = responses.Where(static r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(40, limited.Count);
        Assert.All(limited, static r =>
        {
            Assert.Equal("0", r.Headers.GetValues("X-RateLimit-Remaining").Single());
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        });
    }

    [Fact]
    public async Task A_daily_budget_holds_across_both_instances_under_concurrent_load()
    {
        // Every token costs 1 USD and the fake upstream reports 20 tokens: each answered request costs 20 USD, so a
        // budget of 200 USD fits 10; the estimate (prompt + max_tokens 10) is reserved first.
        await using var pair = await Pair.StartAsync(valkey.Url, requestsPerMinute: 10_000, budgetUsd: 200);

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => pair[i % 2].ChatAsync("hello " + i, maxTokens: 10))).WaitAsync(Bound);

        var answered = responses.Count(static r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses, static r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Forbidden, r.StatusCode.ToString()));

        // Per instance, each would have let about 10 through (20 in all); shared, the overrun is at most one request.
        Assert.InRange(answered, 1, 11);
        Assert.Contains(responses, static r => r.StatusCode == HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_duplicate_sent_to_the_other_instance_is_caught()
    {
        await using var pair = await Pair.StartAsync(valkey.Url, requestsPerMinute: 10_000, deduplication: "reject");

        var first = await pair[0].ChatAsync("the same question");
        var again = await pair[1].ChatAsync("  The same   QUESTION ");
        var other = await pair[1].ChatAsync("another question");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("duplicate_request", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_flagged_duplicate_proceeds_and_only_the_repeat_is_logged_as_one()
    {
        await using var pair = await Pair.StartAsync(valkey.Url, requestsPerMinute: 10_000, deduplication: "flag");

        var first = await pair[0].ChatAsync("flag me");
        var again = await pair[1].ChatAsync("flag me");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.DoesNotContain("duplicate of a request", pair.LogOf(0), StringComparison.Ordinal);
        Assert.Contains("duplicate of a request seen within 60 s", pair.LogOf(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Memory_written_through_one_instance_is_recalled_through_the_other()
    {
        await using var pair = await Pair.StartAsync(valkey.Url, requestsPerMinute: 10_000, memory: "{ backend: valkey, scopes: [conversation], cache_seconds: 60 }");

        var first = await pair[0].ChatAsync("my favourite colour is teal", conversation: "conv-1");
        var second = await pair[1].ChatAsync("what is my favourite colour?", conversation: "conv-1");
        var elsewhere = await pair[1].ChatAsync("what is my favourite colour?", conversation: "conv-2");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        var seen = pair.Host(1).Upstream.Messages.ToArray();
        Assert.Contains("Earlier in this conversation", seen[0], StringComparison.Ordinal);
        Assert.Contains("user: my favourite colour is teal", seen[0], StringComparison.Ordinal);
        Assert.Contains("assistant: You said: my favourite colour is teal", seen[0], StringComparison.Ordinal);
        Assert.DoesNotContain("teal", seen[1], StringComparison.Ordinal);
        Assert.DoesNotContain("Earlier in this conversation", pair.Host(0).Upstream.Messages.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valkey_killed_mid_load_fails_no_request_and_counts_are_shared_again_when_it_returns()
    {
        var port = ValkeyServer.FreePort();
        var server = ValkeyServer.StartServer(port);
        try
        {
            await EventuallyAsync(async () =>
            {
                using var probe = new System.Net.Sockets.TcpClient();
                try
                {
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    return false;
                }
            }, "the server listens");
            await using var pair = await Pair.StartAsync($"redis://127.0.0.1:{port}", requestsPerMinute: 10_000, budgetUsd: 1_000_000, failMode: FailMode.Allow);
            await EventuallyAsync(async () => (await pair[0].ChatAsync("warm up")).StatusCode == HttpStatusCode.OK && CountOf(pair.Log, "unreachable") == CountOf(pair.Log, "answers again"), "the pair answers through Valkey");
            var outagesBefore = CountOf(pair.Log, "unreachable");
            var restoredBefore = CountOf(pair.Log, "answers again");

            var statuses = new List<HttpStatusCode>();
            for (var round = 0; round < 12; round++)
            {
                if (round == 4)
                {
                    await ValkeyServer.StopAsync(server);
                }

                var batch = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => pair[i % 2].ChatAsync($"load {round}/{i}"))).WaitAsync(Bound);
                statuses.AddRange(batch.Select(static r => r.StatusCode));
            }

            Assert.All(statuses, static s => Assert.Equal(HttpStatusCode.OK, s));
            Assert.Equal(outagesBefore + 2, CountOf(pair.Log, "unreachable"));

            server = ValkeyServer.StartServer(port);
            await EventuallyAsync(async () =>
            {
                Assert.Equal(HttpStatusCode.OK, (await pair[0].ChatAsync("probe")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await pair[1].ChatAsync("probe")).StatusCode);
                return CountOf(pair.Log, "answers again") >= restoredBefore + 2;
            }, "both instances use Valkey again");

            // Counted in Valkey again: the fresh server holds the global bucket both instances count into.
            await using var check = Keeptrusts.Valkey.ValkeySharedState.Connect($"redis://127.0.0.1:{port}", new("default", "default", pair.Gateway));
            await using var limiter = check.CreateRateLimiter(10_000);
            var lease = await limiter.AcquireAsync("shared-e2e:global:*", CancellationToken.None);
            Assert.True(lease.Remaining < 10_000 - 2, lease.ToString());
        }
        finally
        {
            await ValkeyServer.StopAsync(server);
        }
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Waits, bounded, for what the client does on its own clock (reconnecting), which the test cannot drive.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within {Bound.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Two gateways with one configuration, one Valkey URL (in a variable of their own) and one key partition.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly GatewayUnderTest[] _gateways;
        private readonly string _variable;

        private Pair(GatewayUnderTest[] gateways, string variable, string gateway)
        {
            _gateways = gateways;
            _variable = variable;
            Gateway = gateway;
        }

        public string Gateway { get; }

        public string Log => _gateways[0].Log + _gateways[1].Log;

        public string LogOf(int index) => _gateways[index].Log;

        public Instance this[int index] => new(_gateways[index]);

        public GatewayUnderTest Host(int index) => _gateways[index];

        public static async Task<Pair> StartAsync(string url, int requestsPerMinute, decimal budgetUsd = 1_000_000, string? deduplication = null, FailMode failMode = FailMode.Block, string? memory = null)
        {
            var variable = "KT_TEST_SHARED_REDIS_" + Guid.NewGuid().ToString("N");
            var gateway = "g-" + Guid.NewGuid().ToString("N")[..12];
            Environment.SetEnvironmentVariable(variable, url);
            string Config(Uri upstream, string auditPath) => $$"""
                pack: { name: shared-e2e, version: 0.1.0 }
                policies:
                  chain: [spend-limit, audit-logger]
                policy:
                  spend-limit: { max_daily_usd: {{budgetUsd}} }
                  audit-logger: { path: {{auditPath}} }
                providers:
                  targets:
                    - id: fake
                      provider: openai
                      model: gpt-test
                      base_url: {{upstream.ToString().TrimEnd('/')}}
                      pricing: { input_usd_per_million: 1000000, output_usd_per_million: 1000000 }
                distributed_rate_limit: { backend: valkey, url_env: {{variable}}, requests_per_minute: {{requestsPerMinute}}, scope: global, gateway: {{gateway}} }
                {{(deduplication is null ? string.Empty : $"deduplication: {{ action: {deduplication}, window_seconds: 60 }}")}}
                {{(memory is null ? string.Empty : "memory: " + memory)}}
                """;
            var first = await GatewayUnderTest.StartAsync(s => s with { FailMode = failMode }, Config);
            var second = await GatewayUnderTest.StartAsync(s => s with { FailMode = failMode }, Config);
            return new Pair([first, second], variable, gateway);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var gateway in _gateways)
            {
                await gateway.DisposeAsync();
            }

            Environment.SetEnvironmentVariable(_variable, null);
        }
    }

    private readonly struct Instance(GatewayUnderTest gateway)
    {
        public async Task<HttpResponseMessage> ChatAsync(string prompt, int? maxTokens = null, string? conversation = null)
        {
            var body = "{\"model\":\"gpt-test\"," + (maxTokens is { } max ? $"\"max_tokens\":{max}," : string.Empty) + "\"messages\":[{\"role\":\"user\",\"content\":" + System.Text.Json.JsonSerializer.Serialize(prompt) + "}]}";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (conversation is not null)
            {
                request.Headers.Add("X-Conversation-ID", conversation);
            }

            return await gateway.Http.SendAsync(request);
        }
    }
}
