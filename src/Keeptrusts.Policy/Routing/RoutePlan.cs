namespace Keeptrusts.Policy.Routing;

/// <summary>
/// Where a request may go, decided before policies run (from the request's <c>model</c> and the
/// <c>X-Keeptrusts-Provider</c> / <c>X-Keeptrusts-Model</c> headers). Either valid, with its candidate targets, or
/// invalid with an <see cref="Error"/> that names the allowed values (answer it with 400). Made by
/// <see cref="ProviderRouter.Plan"/> and spent by <see cref="ProviderRouter.SendAsync"/>.
/// </summary>
public sealed record RoutePlan
{
    private static readonly RouteCandidate[] NoCandidates = [];

    internal RoutePlan(RouteCandidate[] candidates, int primaryCount, string? requestedModel, string? pinnedTarget)
    {
        Candidates = candidates;
        PrimaryCount = primaryCount;
        RequestedModel = requestedModel;
        TargetId = pinnedTarget;
        Model = candidates.Length > 0 ? candidates[0].Model : null;
        var ids = new string[candidates.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = candidates[i].Target.Id;
        }

        TargetIds = ids;
    }

    private RoutePlan(string error, string errorCode, string? requestedModel)
    {
        Error = error;
        ErrorCode = errorCode;
        RequestedModel = requestedModel;
        Candidates = NoCandidates;
        TargetIds = [];
    }

    /// <summary>Why the request cannot be routed, naming the allowed targets or models; null when the plan is valid.</summary>
    public string? Error { get; }

    /// <summary>
    /// A stable code for <see cref="Error"/>: <c>unknown_target</c>, <c>model_not_served</c>, <c>target_not_allowed</c>,
    /// <c>model_required</c> or <c>no_target</c>; null when the plan is valid.
    /// </summary>
    public string? ErrorCode { get; }

    /// <summary>Whether the request can be sent.</summary>
    public bool IsValid => Error is null;

    /// <summary>The pinned target (<c>X-Keeptrusts-Provider</c>), with the configured spelling of its id; null when not pinned.</summary>
    public string? TargetId { get; }

    /// <summary>Whether the request is pinned to one target: it never touches another.</summary>
    public bool IsPinned => TargetId is not null;

    /// <summary>
    /// The model the first candidate is asked for. For a pinned plan this is the model the request is sent with; otherwise
    /// the target finally used may be asked for another (see <see cref="RouteResult.Model"/>).
    /// </summary>
    public string? Model { get; }

    /// <summary>The model the request named (its body's <c>model</c>), if any.</summary>
    public string? RequestedModel { get; }

    /// <summary>
    /// The candidate target ids: first the targets that serve the requested model, then the ones that would answer with
    /// their own model. Within each group the order is the declared one (cheapest first under the <c>cost</c> strategy);
    /// the strategy decides the order of each request.
    /// </summary>
    public IReadOnlyList<string> TargetIds { get; }

    /// <summary>The candidates; the first <see cref="PrimaryCount"/> serve the requested model.</summary>
    internal RouteCandidate[] Candidates { get; }

    /// <summary>How many candidates, from the start, serve the requested model; the rest are tried after them.</summary>
    internal int PrimaryCount { get; }

    internal static RoutePlan Invalid(string error, string errorCode, string? requestedModel) => new(error, errorCode, requestedModel);
}

/// <summary>One target a plan may use and the model it would be asked for.</summary>
internal sealed class RouteCandidate(TargetRuntime target, string model, decimal? price)
{
    public TargetRuntime Target { get; } = target;

    public string Model { get; } = model;

    /// <summary>Input plus output USD per million tokens for <see cref="Model"/> on this target, when priced.</summary>
    public decimal? Price { get; } = price;
}
