using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>Fallback, circuit breaker and health check settings lie in ranges that make sense.</summary>
internal sealed class ResilienceRule : IConfigRule
{
    public const int MaxFallbackAttempts = 10;

    public void Check(LintContext context)
    {
        var providers = context.Config.Providers;
        var fallback = providers.Fallback;
        if (fallback.MaxFallbackAttempts is < 0 or > MaxFallbackAttempts)
        {
            context.Report(DiagnosticCodes.FallbackAttemptsRange, $"max_fallback_attempts must be between 0 and {MaxFallbackAttempts}, found {fallback.MaxFallbackAttempts}", "providers.fallback.max_fallback_attempts");
        }

        Positive(context, fallback.InitialBackoffMs, "providers.fallback.initial_backoff_ms", allowZero: true);
        Positive(context, fallback.MaxBackoffMs, "providers.fallback.max_backoff_ms", allowZero: true);
        Positive(context, fallback.MaxRetryAfterMs, "providers.fallback.max_retry_after_ms", allowZero: true);
        Positive(context, fallback.OverallTimeoutMs, "providers.fallback.overall_timeout_ms", allowZero: false);
        if (fallback.MaxBackoffMs < fallback.InitialBackoffMs)
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"max_backoff_ms ({fallback.MaxBackoffMs}) is below initial_backoff_ms ({fallback.InitialBackoffMs})", "providers.fallback.max_backoff_ms");
        }

        var breaker = providers.CircuitBreaker;
        if (breaker.FailureRatio is <= 0 or > 1)
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"failure_ratio must be above 0 and at most 1, found {breaker.FailureRatio}", "providers.circuit_breaker.failure_ratio");
        }

        if (breaker.MinimumThroughput < 2)
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"minimum_throughput must be at least 2, found {breaker.MinimumThroughput}", "providers.circuit_breaker.minimum_throughput");
        }

        Range(context, breaker.SamplingDurationMs, 500, 86_400_000, "providers.circuit_breaker.sampling_duration_ms");
        Range(context, breaker.BreakDurationMs, 500, 86_400_000, "providers.circuit_breaker.break_duration_ms");

        var health = providers.HealthCheck;
        Range(context, health.IntervalMs, 1_000, 86_400_000, "providers.health_check.interval_ms");
        Range(context, health.TimeoutMs, 100, 60_000, "providers.health_check.timeout_ms");
        if (health.TimeoutMs >= health.IntervalMs)
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"timeout_ms ({health.TimeoutMs}) must be below interval_ms ({health.IntervalMs}) so probes never overlap", "providers.health_check.timeout_ms");
        }

        Range(context, health.UnhealthyThreshold, 1, 100, "providers.health_check.unhealthy_threshold");
        Range(context, health.HealthyThreshold, 1, 100, "providers.health_check.healthy_threshold");
        if (!health.Path.StartsWith('/'))
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"path must start with '/', found '{health.Path}'", "providers.health_check.path");
        }
    }

    private static void Positive(LintContext context, int value, string path, bool allowZero)
    {
        if (value < 0 || (!allowZero && value == 0))
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"{path[(path.LastIndexOf('.') + 1)..]} must be {(allowZero ? "0 or more" : "positive")}, found {value}", path);
        }
    }

    private static void Range(LintContext context, int value, int min, int max, string path)
    {
        if (value < min || value > max)
        {
            context.Report(DiagnosticCodes.ResilienceRange, $"{path[(path.LastIndexOf('.') + 1)..]} must be between {min} and {max}, found {value}", path);
        }
    }
}
