using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.ModelAllowlist;

/// <summary>
/// Refuses requests for models or provider targets outside the allowed lists (403). Input phase only; it reads the
/// request's model and target, never its texts.
/// </summary>
internal sealed class ModelAllowlistPolicy(string id, IReadOnlyList<string> models, IReadOnlyList<string> targets) : IChainPolicy
{
    public const string ModelFinding = "MODEL_NOT_ALLOWED";
    public const string TargetFinding = "TARGET_NOT_ALLOWED";
    public const string ModelNotAllowedCode = "model_not_allowed";
    public const string ModelRequiredCode = "model_required";
    public const string TargetNotAllowedCode = "target_not_allowed";

    /// <summary>Model names are not secrets, but they come from the caller: a reason quotes a bounded prefix.</summary>
    private const int MaxQuotedLength = 100;

    private readonly string[] _models = [.. models.Where(static m => m.Length > 0)];
    private readonly HashSet<string> _targets = new(targets.Where(static t => t.Length > 0), StringComparer.OrdinalIgnoreCase);

    public string Id { get; } = id;

    public bool AppliesTo(PolicyPhase phase) => phase == PolicyPhase.Input && (_models.Length > 0 || _targets.Count > 0);

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Decide(context.View.Model, context.Request.TargetId));

    /// <summary>The decision for a requested model and target; everything else about the request is irrelevant.</summary>
    internal PolicyVerdict Decide(string? model, string? target)
    {
        if (_models.Length > 0)
        {
            if (string.IsNullOrEmpty(model))
            {
                return PolicyVerdict.Block(
                    $"the request names no model, and only these are allowed: {string.Join(", ", _models)}",
                    ModelRequiredCode,
                    [new PolicyFinding(Id, ModelFinding) { Detail = "model missing" }],
                    PolicyErrors.ForbiddenStatus);
            }

            if (!IsModelAllowed(model))
            {
                return PolicyVerdict.Block(
                    $"model '{Quote(model)}' is not allowed; allowed models: {string.Join(", ", _models)}",
                    ModelNotAllowedCode,
                    [new PolicyFinding(Id, ModelFinding) { Detail = Quote(model) }],
                    PolicyErrors.ForbiddenStatus);
            }
        }

        // A target is known only when the caller pinned one or routing already chose it; otherwise there is nothing to check.
        if (_targets.Count > 0 && !string.IsNullOrEmpty(target) && !_targets.Contains(target))
        {
            return PolicyVerdict.Block(
                $"provider target '{Quote(target)}' is not allowed; allowed targets: {string.Join(", ", _targets.Order(StringComparer.OrdinalIgnoreCase))}",
                TargetNotAllowedCode,
                [new PolicyFinding(Id, TargetFinding) { Detail = Quote(target) }],
                PolicyErrors.ForbiddenStatus);
        }

        return PolicyVerdict.Allowed;
    }

    internal bool IsModelAllowed(string model)
    {
        foreach (var pattern in _models)
        {
            if (ModelGlob.IsMatch(pattern, model))
            {
                return true;
            }
        }

        return false;
    }

    private static string Quote(string value) => value.Length <= MaxQuotedLength ? value : value[..MaxQuotedLength] + "…";
}
