using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

public class RouteFallbackTests
{
    private readonly ManualTime _time = new();
    private readonly TestProviderClientFactory _clients = new();

    public static TheoryData<string, string> Triggers() => new()
    {
        { "429", "rate_limit" },
        { "500", "server_error" },
        { "502", "server_error" },
        { "503", "server_error" },
        { "refused", "connection_refused" },
        { "reset", "connection_reset" },
        { "invalid", "invalid_response" },
        { "hang", "timeout" },
        { "408", "timeout" },
    };

    [Theory]
    [MemberData(nameof(Triggers))]
    public async Task Every_trigger_falls_back_to_the_next_target(string failure, string outcome)
    {
        _clients["a"].OnSend = Failing(failure);
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a", "b"], _clients.Calls);
        Assert.Equal("b", result.TargetId);
        Assert.Equal(200, result.Response.StatusCode);
        Assert.False(result.IsSynthesized);
        Assert.Equal(outcome, result.Attempts[0].Outcome);
        Assert.Equal("ok", result.Attempts[1].Outcome);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task A_client_error_is_returned_as_the_upstream_said_without_fallback(int status)
    {
        _clients["a"].OnSend = (_, _) => Responses.Answer(status);
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a"], _clients.Calls);
        Assert.Equal(status, result.Response.StatusCode);
        Assert.False(result.IsSynthesized);
        Assert.Equal("a", result.TargetId);
        Assert.Equal($"s{status}", Responses.Error(result.Response).Code);
        Assert.Equal("client_error", Assert.Single(result.Attempts).Outcome);
    }

    [Fact]
    public async Task A_trigger_left_out_of_the_configuration_is_returned_as_it_is()
    {
        var config = Routers.Config(2) with { Fallback = new FallbackConfig { Triggers = [FallbackTrigger.ServerError] } };
        _clients["a"].OnSend = static (_, _) => Responses.Answer(429, TimeSpan.FromSeconds(3));
        await using var router = Routers.Create(config, _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a"], _clients.Calls);
        Assert.Equal(429, result.Response.StatusCode);
        Assert.False(result.IsSynthesized);
        Assert.Equal("s429", Responses.Error(result.Response).Code);
        Assert.Equal(TimeSpan.FromSeconds(3), result.Response.RetryAfter);
    }

    [Fact]
    public async Task A_timeout_left_out_of_the_configuration_ends_the_request_with_504()
    {
        var config = Routers.Config(2) with { Fallback = new FallbackConfig { Triggers = [FallbackTrigger.RateLimit, FallbackTrigger.ServerError] } };
        _clients["a"].OnSend = static (_, ct) => Responses.Hang(ct);
        await using var router = Routers.Create(config, _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a"], _clients.Calls);
        Assert.Equal(504, result.Response.StatusCode);
        var error = Responses.Error(result.Response);
        Assert.Equal("upstream_timeout", error.Code);
        Assert.True(error.Message.Contains("'a' timed out after 1000 ms", StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public async Task Attempts_stop_at_max_fallback_attempts_plus_one_and_the_error_names_every_target_tried()
    {
        var config = Routers.Config(4) with { Fallback = new FallbackConfig { MaxFallbackAttempts = 1 } };
        _clients.All(["a", "b", "c", "d"], static (_, _) => Responses.Answer(500));
        await using var router = Routers.Create(config, _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a", "b"], _clients.Calls);
        Assert.True(result.IsSynthesized);
        Assert.Null(result.TargetId);
        Assert.Equal(502, result.Response.StatusCode);
        var error = Responses.Error(result.Response);
        Assert.Equal("upstream_error", error.Code);
        Assert.Equal("server_error", error.Type);
        Assert.Contains("'a' answered 500", error.Message, StringComparison.Ordinal);
        Assert.Contains("'b' answered 500", error.Message, StringComparison.Ordinal);
        Assert.Contains("max_fallback_attempts (1)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_every_attempt_is_rate_limited_the_router_answers_429_with_the_last_retry_after()
    {
        _clients.All(["a", "b"], static (_, _) => Responses.Answer(429, TimeSpan.FromMilliseconds(1_500)));
        var config = Routers.Config(2) with { Fallback = new FallbackConfig { MaxFallbackAttempts = 1 } };
        await using var router = Routers.Create(config, _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(429, result.Response.StatusCode);
        Assert.Equal("upstream_rate_limited", Responses.Error(result.Response).Code);
        Assert.Equal("rate_limit_error", Responses.Error(result.Response).Type);
        Assert.Equal(TimeSpan.FromSeconds(2), result.Response.RetryAfter);
    }

    [Fact]
    public async Task With_fewer_targets_than_attempts_the_order_starts_again_after_backoff()
    {
        _clients["a"].OnSend = Sequence(500, 500, 200);
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a", "a", "a"], _clients.Calls);
        Assert.Equal(200, result.Response.StatusCode);
    }

    [Fact]
    public Task Retry_after_is_waited_out_before_the_same_target_is_tried_again() => Routers.Pool(async () =>
    {
        _clients["a"].OnSend = Sequence((429, TimeSpan.FromSeconds(2)), (200, null));
        await using var router = Routers.Create(Routers.Config(1), _clients, _time);

        var pending = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        Assert.Equal(1, _clients["a"].Sends);

        // The backoff (at most 100 ms here) is shorter than the upstream's Retry-After: the router waits the latter.
        _time.Advance(TimeSpan.FromMilliseconds(1_999));
        Assert.Equal(1, _clients["a"].Sends);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, _clients["a"].Sends);

        await using var result = await pending;
        Assert.Equal(200, result.Response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), result.Attempts[0].RetryAfter);
    });

    [Fact]
    public Task Retry_after_does_not_delay_the_move_to_another_target() => Routers.Pool(async () =>
    {
        _clients["a"].OnSend = static (_, _) => Responses.Answer(429, TimeSpan.FromSeconds(5));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        var pending = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(["a", "b"], _clients.Calls);
        await using var result = await pending;
        Assert.Equal("b", result.TargetId);
    });

    [Fact]
    public async Task A_retry_after_longer_than_the_cap_moves_straight_on_and_never_returns_to_that_target()
    {
        var config = Routers.Config(1) with { Fallback = new FallbackConfig { MaxRetryAfterMs = 10_000, MaxFallbackAttempts = 3 } };
        _clients["a"].OnSend = static (_, _) => Responses.Answer(429, TimeSpan.FromSeconds(30));
        await using var router = Routers.Create(config, _clients, _time);
        var started = _time.GetUtcNow();

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(["a"], _clients.Calls);
        Assert.Equal(429, result.Response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), result.Response.RetryAfter);
        Assert.Equal(TimeSpan.Zero, _time.GetUtcNow() - started);
    }

    [Fact]
    public Task Retry_after_is_ignored_when_respect_retry_after_is_off() => Routers.Pool(async () =>
    {
        var config = Routers.Config(1) with { Fallback = new FallbackConfig { RespectRetryAfter = false, InitialBackoffMs = 100, MaxBackoffMs = 100 } };
        _clients["a"].OnSend = Sequence((429, TimeSpan.FromSeconds(5)), (200, null));
        await using var router = Routers.Create(config, _clients, _time);

        var pending = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, default).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(2, _clients["a"].Sends);
        await using var result = await pending;
        Assert.Equal(200, result.Response.StatusCode);
    });

    [Fact]
    public void Backoff_doubles_from_the_initial_value_with_equal_jitter_and_stays_under_the_cap()
    {
        var config = Routers.Config(1) with { Fallback = new FallbackConfig { InitialBackoffMs = 100, MaxBackoffMs = 1_000 } };
        var router = Routers.Create(config, _clients, _time);

        for (var attempt = 1; attempt <= 8; attempt++)
        {
            var full = Math.Min(1_000, 100 * Math.Pow(2, attempt - 1));
            var waits = Enumerable.Range(0, 200).Select(_ => router.Backoff(attempt).TotalMilliseconds).ToList();
            Assert.All(waits, w => Assert.InRange(w, full / 2, full));

            // Jitter spreads the waits over the range rather than repeating one value.
            Assert.True(waits.Max() - waits.Min() > full / 4, $"attempt {attempt}: {waits.Min()}..{waits.Max()}");
        }
    }

    [Fact]
    public async Task The_overall_deadline_bounds_attempts_and_backoffs_together()
    {
        var config = Routers.Config(5) with { Fallback = new FallbackConfig { MaxFallbackAttempts = 4, OverallTimeoutMs = 2_500 } };
        _clients.All(["a", "b", "c", "d", "e"], static (_, ct) => Responses.Hang(ct));
        await using var router = Routers.Create(config, _clients, _time);
        var started = _time.GetUtcNow();

        await using var result = await Routers.Send(router, _time);

        Assert.Equal(504, result.Response.StatusCode);
        Assert.Equal("upstream_timeout", Responses.Error(result.Response).Code);
        Assert.True(_time.GetUtcNow() - started <= TimeSpan.FromMilliseconds(2_500));
        Assert.Equal(["a", "b", "c"], _clients.Calls);

        // The last attempt got only what was left of the deadline, not its full second.
        Assert.True(result.Attempts[^1].Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public Task Caller_cancellation_stops_at_once_and_is_not_counted_against_the_target() => Routers.Pool(async () =>
    {
        _clients.All(["a", "b"], static (_, ct) => Responses.Hang(ct));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);
        using var cancel = new CancellationTokenSource();

        var pending = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(["a"], _clients.Calls);
        var a = router.GetMetrics().Targets[0];
        Assert.Equal(0, a.Errors.Total);
        Assert.Equal(0, a.InFlight);
        Assert.Equal(0, router.GetMetrics().InFlight);
    });

    [Fact]
    public Task Caller_cancellation_during_backoff_sends_nothing_more() => Routers.Pool(async () =>
    {
        _clients.All(["a", "b"], static (_, _) => Responses.Answer(500));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);
        using var cancel = new CancellationTokenSource();

        var pending = router.SendAsync(router.Plan("gpt-4o"), Routers.Body, false, cancel.Token).AsTask();
        Assert.False(pending.IsCompleted);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(["a"], _clients.Calls);
    });

    [Fact]
    public async Task Failed_attempts_release_their_responses_and_the_result_releases_its_own()
    {
        var failed = new DisposalCounter();
        var kept = new DisposalCounter();
        _clients["a"].OnSend = (_, _) => ValueTask.FromResult(Responses.Status(503, owner: failed));
        _clients["b"].OnSend = (_, _) => ValueTask.FromResult(Responses.Ok(owner: kept));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        var result = await Routers.Send(router, _time);
        Assert.Equal(1, failed.Count);
        Assert.Equal(0, kept.Count);
        Assert.Equal(1, router.GetMetrics().InFlight);

        await result.DisposeAsync();
        await result.DisposeAsync();
        Assert.Equal(1, kept.Count);
        Assert.Equal(0, router.GetMetrics().InFlight);
    }

    [Fact]
    public async Task An_adapter_that_throws_something_unexpected_counts_as_a_server_error_of_that_target()
    {
        _clients["a"].OnSend = static (_, _) => ValueTask.FromException<ProviderResponse>(new InvalidOperationException("sk-secret-in-message"));
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time);

        Assert.Equal("b", result.TargetId);
        Assert.Equal("server_error", result.Attempts[0].Outcome);
        Assert.Equal(1, router.GetMetrics().Targets[0].Errors.ServerError);
    }

    [Fact]
    public async Task Synthesized_errors_never_quote_upstream_messages()
    {
        _clients.All(["a", "b"], static (_, _) => ValueTask.FromException<ProviderResponse>(new ProviderException(ProviderFailureKind.ConnectionRefused, "a", "refused at https://user:sk-live-123@example.test")));
        await using var router = Routers.Create(Routers.Config(2) with { Fallback = new FallbackConfig { MaxFallbackAttempts = 1 } }, _clients, _time);

        await using var result = await Routers.Send(router, _time);

        var error = Responses.Error(result.Response);
        Assert.Equal(502, result.Response.StatusCode);
        Assert.DoesNotContain("sk-live", error.Message, StringComparison.Ordinal);
        Assert.Contains("'a' refused the connection; 'b' refused the connection", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_plan_is_answered_400_without_touching_any_target()
    {
        await using var router = Routers.Create(Routers.Config(2), _clients, _time);

        await using var result = await Routers.Send(router, _time, router.Plan("gpt-4o", pinnedTarget: "nope"));

        Assert.Equal(400, result.Response.StatusCode);
        Assert.Equal("unknown_target", Responses.Error(result.Response).Code);
        Assert.Equal("invalid_request_error", Responses.Error(result.Response).Type);
        Assert.Empty(_clients.Calls);
    }

    internal static Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> Failing(string failure) => failure switch
    {
        "refused" => static (_, _) => Responses.Fail(ProviderFailureKind.ConnectionRefused),
        "reset" => static (_, _) => Responses.Fail(ProviderFailureKind.ConnectionReset),
        "invalid" => static (_, _) => Responses.Fail(ProviderFailureKind.InvalidResponse),
        "timeout" => static (_, _) => Responses.Fail(ProviderFailureKind.Timeout),
        "hang" => static (_, ct) => Responses.Hang(ct),
        _ => (_, _) => Responses.Answer(int.Parse(failure, System.Globalization.CultureInfo.InvariantCulture)),
    };

    internal static Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> Sequence(params int[] statuses) =>
        Sequence([.. statuses.Select(static s => (s, (TimeSpan?)null))]);

    internal static Func<ProviderRequest, CancellationToken, ValueTask<ProviderResponse>> Sequence(params (int Status, TimeSpan? RetryAfter)[] answers)
    {
        var next = -1;
        return (_, _) =>
        {
            var (status, retryAfter) = answers[Math.Min(Interlocked.Increment(ref next), answers.Length - 1)];
            return Responses.Answer(status, retryAfter);
        };
    }
}
