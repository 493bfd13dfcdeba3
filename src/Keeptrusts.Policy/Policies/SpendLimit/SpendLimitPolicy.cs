using System.Globalization;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>
/// Daily spend caps. Input: prices the request at its estimated cost and reserves that against every budget that
/// applies (global, the user's, the team's), refusing with 403 when one has no room. Output: settles the
/// reservation to the cost of the reported usage. See <c>docs/policies.md#spend-limit</c>.
/// </summary>
internal sealed class SpendLimitPolicy(SpendLimitOptions options, BudgetCalendar calendar, ISpendStore store) : IChainPolicy
{
    public const string LimitExceededCode = "spend_limit_exceeded";
    public const string UnpricedCode = "spend_unpriced";
    public const string LimitFinding = "SPEND_LIMIT";
    public const string UnpricedFinding = "SPEND_UNPRICED";

    public const string GlobalKey = "global";
    public const string UserKeyPrefix = "user:";
    public const string TeamKeyPrefix = "team:";

    public string Id => PolicyCatalog.SpendLimit;

    public bool AppliesTo(PolicyPhase phase) => options.HasLimit;

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken) =>
        context.Phase == PolicyPhase.Input ? ReserveAsync(context, cancellationToken) : SettleAsync(context, cancellationToken);

    /// <summary>The budgets a request counts against, most general first.</summary>
    public List<SpendKey> KeysFor(RequestContext request)
    {
        var keys = new List<SpendKey>(3);
        if (options.MaxDailyUsd is { } global)
        {
            keys.Add(new SpendKey(GlobalKey, global));
        }

        if (options.MaxDailyUsdPerUser is { } perUser && !string.IsNullOrEmpty(request.UserId))
        {
            keys.Add(new SpendKey(UserKeyPrefix + request.UserId, perUser));
        }

        if (options.MaxDailyUsdPerTeam is { } perTeam && !string.IsNullOrEmpty(request.Team))
        {
            keys.Add(new SpendKey(TeamKeyPrefix + request.Team, perTeam));
        }

        return keys;
    }

    private async ValueTask<PolicyVerdict> ReserveAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var hold = context.Exchange.GetOrAdd(Id, () => new SpendHold(store, context.Exchange));

        // Evaluating the same request again (a retry of the input phase) replaces its reservation, never adds to it.
        await hold.ReleaseAsync(cancellationToken).ConfigureAwait(false);

        var keys = KeysFor(context.Request);
        if (keys.Count == 0)
        {
            return PolicyVerdict.Allowed;
        }

        var (target, pricing) = SpendPricing.Resolve(context.Config.Providers, context.Request.TargetId, context.Model);
        if (pricing is null)
        {
            return PolicyVerdict.Block(UnpricedReason(context.Model, target), UnpricedCode, [new PolicyFinding(Id, UnpricedFinding)], PolicyErrors.ForbiddenStatus);
        }

        var promptTokens = TokenEstimator.EstimatePromptTokens(context.Texts, context.View.Texts);
        var outputTokens = context.View.MaxOutputTokens ?? options.EstimatedOutputTokens;
        var estimate = SpendPricing.Cost(pricing, promptTokens, 0, outputTokens);

        // A request that alone is over a limit never fits; saying so without asking the store also keeps absurd
        // estimates (a price so high the cost saturates) away from the store's arithmetic.
        var tooBig = keys.FirstOrDefault(k => estimate > k.LimitUsd);
        if (tooBig.Key is not null)
        {
            return Exceeded(tooBig, estimate, alone: true);
        }

        var day = calendar.DayOf(context.Time.GetUtcNow());
        var result = await store.TryReserveAsync(keys, estimate, day, cancellationToken).ConfigureAwait(false);
        if (result.Reservation is not { } reservation)
        {
            return Exceeded(result.ExceededKey ?? keys[0], estimate, alone: false);
        }

        hold.Hold(reservation, pricing);
        return PolicyVerdict.Allowed;
    }

    private async ValueTask<PolicyVerdict> SettleAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        if (context.Exchange.TryGet<SpendHold>(Id, out var hold) && hold is not null)
        {
            await hold.SettleAsync(context.Exchange.Usage ?? context.View.Usage, cancellationToken).ConfigureAwait(false);
        }

        return PolicyVerdict.Allowed;
    }

    private PolicyVerdict Exceeded(SpendKey key, decimal estimate, bool alone)
    {
        var scope = ScopeOf(key.Key);
        var limit = Usd(key.LimitUsd);
        var reason = alone
            ? $"the estimated cost of this request ({Usd(estimate)}) is more than the whole daily {scope} spend limit of {limit}; lower max_tokens or raise the limit"
            : $"the daily {scope} spend limit of {limit} is reached (this request is estimated at {Usd(estimate)}); it resets at midnight {calendar.Zone.Id}";
        return PolicyVerdict.Block(reason, LimitExceededCode, [new PolicyFinding(Id, LimitFinding) { Detail = scope }], PolicyErrors.ForbiddenStatus);
    }

    private static string UnpricedReason(string? model, ProviderTarget? target)
    {
        var what = model is null ? "the request names no model" : $"model '{model}' has no price";
        var where = target is null
            ? model is null ? string.Empty : " (no provider target serves it)"
            : $" on target '{target.Id}'";
        return $"spend limits are in force but {what}{where}, so its cost cannot be counted; the operator must add pricing (providers.targets[].pricing or models[].pricing; zero prices for a free model)";
    }

    /// <summary>The scope of a key, without the user or team id: the caller knows who they are, records know the rest.</summary>
    internal static string ScopeOf(string key) =>
        key.StartsWith(UserKeyPrefix, StringComparison.Ordinal) ? "user"
        : key.StartsWith(TeamKeyPrefix, StringComparison.Ordinal) ? "team"
        : GlobalKey;

    private static string Usd(decimal amount) => "$" + amount.ToString("0.#########", CultureInfo.InvariantCulture);
}
