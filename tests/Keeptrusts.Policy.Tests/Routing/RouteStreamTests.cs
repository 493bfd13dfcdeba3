using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteStreamTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    [Fact]
    public async Task A_stream_that_fails_before_its_first_chunk_falls_back_and_the_caller_gets_the_other_stream_whole()
    {
        _clients["a"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks([], ProviderFailureKind.ConnectionReset, cancellationToken: ct)));
        _clients["b"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["b1", "b2", "b3"], cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);

        Assert.Equal("b", result.TargetId);
        Assert.Equal(["connection_reset", "ok"], result.Attempts.Select(static a => a.Outcome));
        Assert.Equal(["b1", "b2", "b3"], await ReadAll(result));
        Assert.True(_clients["a"].Requests.Single().Stream);
    }

    [Fact]
    public async Task A_stream_that_ends_without_a_chunk_is_an_invalid_response_and_falls_back()
    {
        _clients["a"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks([], cancellationToken: ct)));
        _clients["b"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["b1"], cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);

        Assert.Equal("invalid_response", result.Attempts[0].Outcome);
        Assert.Equal(["b1"], await ReadAll(result));
        Assert.Equal(1, router.GetMetrics().Targets[0].Errors.InvalidResponse);
    }

    [Fact]
    public async Task A_first_chunk_that_does_not_arrive_in_time_is_a_timeout_and_falls_back()
    {
        var time = _time;
        _clients["a"].OnSend = (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1"], time: time, delayEach: TimeSpan.FromSeconds(5), cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);

        Assert.Equal(["timeout", "ok"], result.Attempts.Select(static a => a.Outcome));
        Assert.Equal("b", result.TargetId);
    }

    [Fact]
    public async Task A_failure_after_the_first_chunk_propagates_and_never_switches_target()
    {
        _clients["a"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1", "a2"], ProviderFailureKind.ConnectionReset, cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);
        var seen = new List<string>();
        var failure = await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var chunk in result.Response.Chunks!)
            {
                seen.Add(Label(chunk));
            }
        });

        Assert.Equal(ProviderFailureKind.ConnectionReset, failure.Kind);
        Assert.Equal(["a1", "a2"], seen);
        Assert.Equal(["a"], _clients.Calls);
        var a = router.GetMetrics().Targets[0];
        Assert.Equal(1, a.Successes);
        Assert.Equal(1, a.Errors.Stream);
    }

    [Fact]
    public async Task A_stream_holds_its_slot_and_connection_until_the_result_is_disposed()
    {
        var connection = new DisposalCounter();
        _clients["a"].OnSend = (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1", "a2"], cancellationToken: ct), connection));
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);

        var result = await Routers.Send(router, _time, stream: true);
        Assert.Equal(["a1", "a2"], await ReadAll(result));
        Assert.Equal(1, router.GetMetrics().InFlight);
        Assert.Equal(1, router.GetMetrics().Targets[0].InFlight);
        Assert.Equal(0, connection.Count);

        await result.DisposeAsync();

        Assert.Equal(0, router.GetMetrics().InFlight);
        Assert.Equal(1, connection.Count);
    }

    [Fact]
    public async Task Once_committed_a_stream_is_not_cut_by_the_attempt_timeout_or_the_overall_deadline()
    {
        var time = _time;
        _clients["a"].OnSend = (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1", "a2", "a3"], time: time, delayEach: TimeSpan.FromMilliseconds(900), cancellationToken: ct)));
        var config = Routers.Config(1) with { Fallback = new FallbackConfig { OverallTimeoutMs = 1_500 } };
        await using var router = Routers.Create(config, _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);
        var chunks = await Routers.Drive(_time, async () => await ReadAll(result));

        Assert.Equal(["a1", "a2", "a3"], chunks);
        Assert.Equal(0, router.GetMetrics().Targets[0].Errors.Total);
    }

    [Fact]
    public async Task Caller_cancellation_mid_stream_ends_it_without_counting_an_error()
    {
        var time = _time;
        _clients["a"].OnSend = (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1", "a2"], time: time, delayEach: TimeSpan.FromMilliseconds(500), cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);
        using var cancel = new CancellationTokenSource();

        await using var result = await Routers.Send(router, _time, stream: true);
        var enumerator = result.Response.Chunks!.GetAsyncEnumerator(cancel.Token);
        Assert.True(await enumerator.MoveNextAsync());
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Routers.Drive(_time, () => enumerator.MoveNextAsync()));
        Assert.Equal(0, router.GetMetrics().Targets[0].Errors.Total);
    }

    [Fact]
    public async Task A_routed_stream_can_be_enumerated_once()
    {
        _clients["a"].OnSend = static (_, ct) => ValueTask.FromResult(Responses.Stream(Responses.Chunks(["a1"], cancellationToken: ct)));
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);
        await ReadAll(result);

        Assert.Throws<InvalidOperationException>(() => result.Response.Chunks!.GetAsyncEnumerator());
    }

    [Fact]
    public async Task An_error_status_on_a_stream_request_is_handled_like_any_other()
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(503);
        _clients["b"].OnSend = static (_, _) => Responses.Answer(401);
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, stream: true);

        Assert.Equal(401, result.Response.StatusCode);
        Assert.Null(result.Response.Chunks);
        Assert.Equal("s401", Responses.Error(result.Response).Code);
    }

    private static async Task<List<string>> ReadAll(RouteResult result)
    {
        var labels = new List<string>();
        await foreach (var chunk in result.Response.Chunks!)
        {
            labels.Add(Label(chunk));
        }

        return labels;
    }

    private static string Label(ReadOnlyMemory<byte> chunk) =>
        System.Text.Json.JsonDocument.Parse(chunk).RootElement.GetProperty("chunk").GetString()!;
}
