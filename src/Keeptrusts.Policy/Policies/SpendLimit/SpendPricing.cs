using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>Finds the price of a request's model and turns token counts into US dollars, exactly, in decimal.</summary>
internal static class SpendPricing
{
    /// <summary>Costs are kept to the nano-dollar: fine enough for a single token of the cheapest model.</summary>
    public const int CostDecimals = 9;

    private const decimal TokensPerPriceUnit = 1_000_000m;

    /// <summary>
    /// The target a request is priced against and that target's price of the model. The target is
    /// <paramref name="targetId"/> when it names one; otherwise the first target that serves the model (a
    /// <c>models[]</c> entry with that id, or a <c>model</c> equal to it; ids compared ignoring case). The price is
    /// the matching <c>models[].pricing</c>, else the target's own <c>pricing</c>. Null pricing: the model is unpriced.
    /// </summary>
    public static (ProviderTarget? Target, ModelPricing? Pricing) Resolve(ProvidersConfig providers, string? targetId, string? model)
    {
        ProviderTarget? target = null;
        if (!string.IsNullOrEmpty(targetId))
        {
            target = providers.Targets.FirstOrDefault(t => Same(t.Id, targetId));
        }

        model ??= target?.Model;
        if (target is null && model is not null)
        {
            target = providers.Targets.FirstOrDefault(t => Same(t.Model, model) || t.Models.Any(m => Same(m.Id, model)));
        }

        if (target is null)
        {
            return (null, null);
        }

        var entry = model is null ? null : target.Models.FirstOrDefault(m => Same(m.Id, model));
        return (target, entry?.Pricing ?? target.Pricing);
    }

    /// <summary>
    /// (prompt − cached) × input + cached × cached input (the input price when not set) + completion × output, per
    /// million tokens, computed in decimal and rounded up to <see cref="CostDecimals"/> places once, at the end: a
    /// cost is never understated, and summing many requests never accumulates rounding. Negative counts are read as
    /// zero and cached tokens as at most the prompt. A cost beyond what decimal holds is <see cref="decimal.MaxValue"/>.
    /// </summary>
    public static decimal Cost(ModelPricing pricing, long promptTokens, long cachedPromptTokens, long completionTokens)
    {
        var prompt = Math.Max(0, promptTokens);
        var cached = Math.Clamp(cachedPromptTokens, 0, prompt);
        var completion = Math.Max(0, completionTokens);
        try
        {
            var perMillion = ((prompt - cached) * pricing.InputUsdPerMillion)
                + (cached * (pricing.CachedInputUsdPerMillion ?? pricing.InputUsdPerMillion))
                + (completion * pricing.OutputUsdPerMillion);
            return decimal.Round(perMillion / TokensPerPriceUnit, CostDecimals, MidpointRounding.ToPositiveInfinity);
        }
        catch (OverflowException)
        {
            return decimal.MaxValue;
        }
    }

    /// <summary>The cost of reported usage.</summary>
    public static decimal Cost(ModelPricing pricing, TokenUsage usage) =>
        Cost(pricing, usage.PromptTokens, usage.CachedPromptTokens, usage.CompletionTokens);

    /// <summary>Whether a target has no price at all, or the models it names that have none.</summary>
    public static IReadOnlyList<string> UnpricedModels(ProviderTarget target, out bool unpricedEntirely)
    {
        unpricedEntirely = false;
        if (target.Pricing is not null)
        {
            return [];
        }

        var unpriced = target.Models.Where(static m => m.Pricing is null).Select(static m => m.Id).ToList();
        if (target.Model is { Length: > 0 } model && !target.Models.Any(m => Same(m.Id, model)))
        {
            unpriced.Insert(0, model);
        }

        unpricedEntirely = !target.Models.Any(static m => m.Pricing is not null);
        return unpriced;
    }

    private static bool Same(string? a, string? b) => a is not null && b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
