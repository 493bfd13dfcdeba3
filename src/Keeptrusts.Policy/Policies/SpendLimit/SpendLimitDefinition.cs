using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>Settings of <c>spend-limit</c> (<c>policy.spend-limit</c>).</summary>
internal sealed record SpendLimitOptions : PolicyOptions
{
    /// <summary>The most every request together may cost per budget day, in USD.</summary>
    public decimal? MaxDailyUsd { get; init; }

    /// <summary>The most one user's requests may cost per budget day, in USD; requests without a user id are not counted here.</summary>
    public decimal? MaxDailyUsdPerUser { get; init; }

    /// <summary>The most one team's requests may cost per budget day, in USD; requests without a team are not counted here.</summary>
    public decimal? MaxDailyUsdPerTeam { get; init; }

    /// <summary>Output tokens assumed when the request sets no <c>max_completion_tokens</c> / <c>max_tokens</c>.</summary>
    public int EstimatedOutputTokens { get; init; } = SpendLimitDefinition.DefaultEstimatedOutputTokens;

    /// <summary>The time zone whose midnight starts a budget day.</summary>
    public string Timezone { get; init; } = "UTC";

    public bool HasLimit => MaxDailyUsd is not null || MaxDailyUsdPerUser is not null || MaxDailyUsdPerTeam is not null;
}

/// <summary>The built-in <c>spend-limit</c> policy: daily budgets in USD, global, per user and per team.</summary>
internal sealed class SpendLimitDefinition : PolicyDefinition<SpendLimitOptions>
{
    public const int DefaultEstimatedOutputTokens = 1024;

    /// <summary>More output than any model produces in one response: a larger value is a typo that would refuse everything.</summary>
    public const int MaxEstimatedOutputTokens = 1_000_000;

    public override string Id => PolicyCatalog.SpendLimit;

    protected override void Check(SpendLimitOptions options, PolicyCheckContext context)
    {
        // Negative limits are the schema's (KT1101, "minimum": 0); the output estimate's range is checked here and
        // marked in the schema so that only this message, which says what the setting is for, is reported.
        if (options.EstimatedOutputTokens is < 1 or > MaxEstimatedOutputTokens)
        {
            context.Report(DiagnosticCodes.SpendOutputEstimateRange, $"'estimated_output_tokens' is {options.EstimatedOutputTokens}; it must be between 1 and {MaxEstimatedOutputTokens:N0} (the output a request is assumed to produce when it sets no max_tokens)", "estimated_output_tokens");
        }

        if (!BudgetCalendar.TryResolve(options.Timezone, out _))
        {
            context.Report(DiagnosticCodes.SpendUnknownTimeZone, $"'{Shorten(options.Timezone)}' is not a time zone this system knows; use an IANA id such as 'UTC', 'Europe/Paris' or 'America/New_York' (Windows ids such as 'Romance Standard Time' resolve only on Windows or where ICU is available)", "timezone");
        }

        if (!options.HasLimit)
        {
            // Only a written block is reported: a chain entry with default settings lints clean, like every policy's
            // defaults, and the block is where the missing key belongs.
            if (context.Config.Policy.ContainsKey(Id))
            {
                context.Report(DiagnosticCodes.SpendNoLimit, "no limit is set (max_daily_usd, max_daily_usd_per_user or max_daily_usd_per_team), so spend-limit counts nothing and refuses nothing");
            }

            return;
        }

        if (!context.Config.Policies.Chain.Contains(Id, StringComparer.OrdinalIgnoreCase))
        {
            return;
        }

        foreach (var target in context.Config.Providers.Targets)
        {
            var models = SpendPricing.UnpricedModels(target, out var entirely);
            if (entirely)
            {
                context.Report(DiagnosticCodes.SpendUnpricedTarget, $"target '{target.Id}' has no pricing, so with a spend limit in force every request it serves is refused (403 spend_unpriced); add 'pricing' to the target or to each of its models[] (zero prices for a free target)");
            }
            else if (models.Count > 0)
            {
                context.Report(DiagnosticCodes.SpendUnpricedTarget, $"target '{target.Id}' has no pricing for {string.Join(", ", models.Select(static m => $"'{m}'"))}, so with a spend limit in force those requests are refused (403 spend_unpriced); add pricing to those models[] entries or to the target");
            }
        }
    }

    protected override IChainPolicy Create(SpendLimitOptions options, PolicyConfig config, PolicyServices services)
    {
        if (!BudgetCalendar.TryResolve(options.Timezone, out var zone))
        {
            // Lint reports this (KT3502) before an engine is built; only a configuration linted elsewhere gets here.
            throw new InvalidOperationException($"spend-limit: the time zone '{Shorten(options.Timezone)}' is not known on this system (KT3502).");
        }

        return new SpendLimitPolicy(options, new BudgetCalendar(zone), services.SpendStore);
    }

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 61), "...");
}
