using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Turns a requested model and optional pins into a <see cref="RoutePlan"/>. The rule (also in <c>docs/routing.md</c>):
/// a target <em>serves</em> a model when it declares no model at all (it serves whatever is asked), when its
/// <c>model</c> is that model, or when its <c>models</c> list it (case-insensitively; the configured spelling is sent).
/// Targets that serve the requested model come first; the others follow as fallbacks, each asked for its own model
/// (<c>model</c>, else its first <c>models</c> entry). When no target serves the model, every target that declares a
/// model is a candidate with its own model. Plans without pins or filters are built once per declared model and reused.
/// </summary>
internal sealed class RoutePlanner
{
    private readonly TargetRuntime[] _targets;
    private readonly RoutingStrategy _strategy;
    private readonly Dictionary<string, TargetRuntime> _byId = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RoutePlan> _byModel = new(StringComparer.OrdinalIgnoreCase);
    private readonly RoutePlan _noModel;

    public RoutePlanner(TargetRuntime[] targets, RoutingStrategy strategy)
    {
        _targets = targets;
        _strategy = strategy;
        var models = new List<RoutableModel>();
        foreach (var target in targets)
        {
            _byId.TryAdd(target.Id, target);
            foreach (var model in ServedModels(target.Target))
            {
                models.Add(new RoutableModel(model, target.Id));
            }
        }

        Models = models;
        foreach (var model in models)
        {
            if (!_byModel.ContainsKey(model.Id))
            {
                _byModel.Add(model.Id, Build(model.Id));
            }
        }

        _noModel = Build(null);
    }

    public IReadOnlyList<RoutableModel> Models { get; }

    public RoutePlan Plan(string? requestedModel, string? pinnedTarget, string? pinnedModel, Func<string, string, bool>? allowTarget)
    {
        var requested = string.IsNullOrEmpty(requestedModel) ? null : requestedModel;
        if (_targets.Length == 0)
        {
            return RoutePlan.Invalid("no provider targets are configured (providers.targets is empty)", "no_target", requested);
        }

        if (!string.IsNullOrEmpty(pinnedTarget))
        {
            return PlanPinned(requested, pinnedTarget, string.IsNullOrEmpty(pinnedModel) ? null : pinnedModel, allowTarget);
        }

        if (!string.IsNullOrEmpty(pinnedModel))
        {
            return PlanModelOnly(requested, pinnedModel, allowTarget);
        }

        var plan = requested is null ? _noModel : _byModel.TryGetValue(requested, out var cached) ? cached : Build(requested);
        return allowTarget is null || !plan.IsValid ? plan : Filter(plan, allowTarget);
    }

    /// <summary>The models a target declares, in order, without repeats; empty when it serves any model.</summary>
    internal static List<string> ServedModels(ProviderTarget target)
    {
        var list = new List<string>();
        if (!string.IsNullOrEmpty(target.Model))
        {
            list.Add(target.Model);
        }

        foreach (var model in target.Models)
        {
            if (model.Id.Length > 0 && !list.Contains(model.Id, StringComparer.OrdinalIgnoreCase))
            {
                list.Add(model.Id);
            }
        }

        return list;
    }

    /// <summary>Whether <paramref name="target"/> serves <paramref name="model"/>, and the spelling to send.</summary>
    internal static bool TryServe(ProviderTarget target, string model, out string sent)
    {
        sent = model;
        if (string.IsNullOrEmpty(target.Model) && target.Models.Count == 0)
        {
            return true;
        }

        if (string.Equals(target.Model, model, StringComparison.OrdinalIgnoreCase))
        {
            sent = target.Model!;
            return true;
        }

        foreach (var declared in target.Models)
        {
            if (string.Equals(declared.Id, model, StringComparison.OrdinalIgnoreCase))
            {
                sent = declared.Id;
                return true;
            }
        }

        return false;
    }

    /// <summary>The model a target answers with when the request's model is not one it serves.</summary>
    internal static string? OwnModel(ProviderTarget target) =>
        !string.IsNullOrEmpty(target.Model) ? target.Model
        : target.Models.FirstOrDefault(static m => m.Id.Length > 0)?.Id;

    /// <summary>Input plus output USD per million tokens of <paramref name="model"/> on <paramref name="target"/>, when priced.</summary>
    internal static decimal? PriceOf(ProviderTarget target, string model)
    {
        foreach (var declared in target.Models)
        {
            if (string.Equals(declared.Id, model, StringComparison.OrdinalIgnoreCase) && declared.Pricing is { } pricing)
            {
                return pricing.InputUsdPerMillion + pricing.OutputUsdPerMillion;
            }
        }

        return string.Equals(target.Model, model, StringComparison.OrdinalIgnoreCase) && target.Pricing is { } own
            ? own.InputUsdPerMillion + own.OutputUsdPerMillion
            : null;
    }

    private RoutePlan Build(string? requested)
    {
        var primary = new List<RouteCandidate>();
        var secondary = new List<RouteCandidate>();
        foreach (var target in _targets)
        {
            if (requested is not null && TryServe(target.Target, requested, out var sent))
            {
                primary.Add(Candidate(target, sent));
            }
            else if (OwnModel(target.Target) is { } own)
            {
                secondary.Add(Candidate(target, own));
            }
        }

        if (primary.Count + secondary.Count == 0)
        {
            return RoutePlan.Invalid(
                "the request names no model and no provider target declares one; set 'model' in the request or on a target",
                "model_required",
                requested);
        }

        if (_strategy == RoutingStrategy.Cost)
        {
            SortByPrice(primary);
            SortByPrice(secondary);
        }

        // Without a requested model, or when no target serves it, every candidate is equal: one group.
        var primaryCount = primary.Count == 0 ? secondary.Count : primary.Count;
        return new RoutePlan([.. primary, .. secondary], primaryCount, requested, pinnedTarget: null);
    }

    private RoutePlan PlanPinned(string? requested, string pinnedTarget, string? pinnedModel, Func<string, string, bool>? allowTarget)
    {
        if (!_byId.TryGetValue(pinnedTarget, out var target))
        {
            return RoutePlan.Invalid(
                $"unknown provider target '{RouterErrors.Quote(pinnedTarget)}' in X-Keeptrusts-Provider; allowed targets: {AllowedTargets(requested, allowTarget)}",
                "unknown_target",
                requested);
        }

        string model;
        if (pinnedModel is not null)
        {
            if (!TryServe(target.Target, pinnedModel, out model))
            {
                return RoutePlan.Invalid(
                    $"model '{RouterErrors.Quote(pinnedModel)}' in X-Keeptrusts-Model is not served by target '{target.Id}'; it serves: {string.Join(", ", ServedModels(target.Target))}",
                    "model_not_served",
                    requested);
            }
        }
        else if (ModelFor(target.Target, requested) is { } resolved)
        {
            model = resolved;
        }
        else
        {
            return RoutePlan.Invalid(
                $"target '{target.Id}' declares no model and the request names none; set 'model' in the request or X-Keeptrusts-Model",
                "model_required",
                requested);
        }

        if (allowTarget is not null && !allowTarget(target.Id, model))
        {
            return RoutePlan.Invalid(
                $"provider target '{target.Id}' with model '{RouterErrors.Quote(model)}' is not allowed by policy; allowed targets: {AllowedTargets(requested, allowTarget)}",
                "target_not_allowed",
                requested);
        }

        return new RoutePlan([Candidate(target, model)], 1, requested, target.Id);
    }

    private RoutePlan PlanModelOnly(string? requested, string pinnedModel, Func<string, string, bool>? allowTarget)
    {
        // X-Keeptrusts-Model without a target: only targets that serve that model, never a substitute.
        var candidates = new List<RouteCandidate>();
        foreach (var target in _targets)
        {
            if (TryServe(target.Target, pinnedModel, out var sent))
            {
                candidates.Add(Candidate(target, sent));
            }
        }

        if (candidates.Count == 0)
        {
            var served = _targets.SelectMany(static t => ServedModels(t.Target)).Distinct(StringComparer.OrdinalIgnoreCase);
            return RoutePlan.Invalid(
                $"no provider target serves model '{RouterErrors.Quote(pinnedModel)}' named in X-Keeptrusts-Model; served models: {string.Join(", ", served)}",
                "model_not_served",
                requested);
        }

        if (_strategy == RoutingStrategy.Cost)
        {
            SortByPrice(candidates);
        }

        var plan = new RoutePlan([.. candidates], candidates.Count, requested, pinnedTarget: null);
        return allowTarget is null ? plan : Filter(plan, allowTarget);
    }

    private static RoutePlan Filter(RoutePlan plan, Func<string, string, bool> allowTarget)
    {
        var candidates = plan.Candidates;
        var kept = 0;
        var keptPrimary = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (allowTarget(candidates[i].Target.Id, candidates[i].Model))
            {
                kept++;
                keptPrimary += i < plan.PrimaryCount ? 1 : 0;
            }
        }

        if (kept == candidates.Length)
        {
            return plan;
        }

        if (kept == 0)
        {
            var what = plan.RequestedModel is { } model ? $"model '{RouterErrors.Quote(model)}'" : "the request";
            return RoutePlan.Invalid(
                $"no provider target allowed by policy can serve {what}; considered: {string.Join(", ", plan.TargetIds)}",
                "target_not_allowed",
                plan.RequestedModel);
        }

        var filtered = new RouteCandidate[kept];
        var next = 0;
        foreach (var candidate in candidates)
        {
            if (allowTarget(candidate.Target.Id, candidate.Model))
            {
                filtered[next++] = candidate;
            }
        }

        return new RoutePlan(filtered, keptPrimary == 0 ? kept : keptPrimary, plan.RequestedModel, plan.TargetId);
    }

    private static string? ModelFor(ProviderTarget target, string? requested) =>
        requested is not null && TryServe(target, requested, out var sent) ? sent : OwnModel(target) ?? requested;

    private string AllowedTargets(string? requested, Func<string, string, bool>? allowTarget)
    {
        var allowed = _targets
            .Where(t => allowTarget is null || (ModelFor(t.Target, requested) is { } model && allowTarget(t.Id, model)))
            .Select(static t => t.Id)
            .ToList();
        return allowed.Count == 0 ? "none" : string.Join(", ", allowed);
    }

    private static RouteCandidate Candidate(TargetRuntime target, string model) => new(target, model, PriceOf(target.Target, model));

    private static void SortByPrice(List<RouteCandidate> candidates)
    {
        // Stable: equal prices keep their declared order; unpriced targets go last.
        var sorted = candidates
            .Select(static (c, i) => (c, i))
            .OrderBy(static x => x.c.Price is null ? 1 : 0)
            .ThenBy(static x => x.c.Price ?? 0m)
            .ThenBy(static x => x.i)
            .Select(static x => x.c)
            .ToList();
        candidates.Clear();
        candidates.AddRange(sorted);
    }
}
