using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Policies.ToolGovernance;

/// <summary>The settings of <c>tool-governance</c> (<c>policy.tool-governance</c>).</summary>
internal sealed record ToolGovernanceOptions : PolicyOptions
{
    /// <summary>Tool-name globs a caller may use. Empty: every tool not denied.</summary>
    public IReadOnlyList<string> Allow { get; init; } = [];

    /// <summary>Tool-name globs a caller may never use; deny wins over allow.</summary>
    public IReadOnlyList<string> Deny { get; init; } = [];

    /// <summary>What a denied tool offered in a chat-completions request does: removed (default) or the request refused.</summary>
    public ToolViolationAction OnViolation { get; init; } = ToolViolationAction.Strip;

    /// <summary>Whether tool-call arguments are checked against the tool's input schema. Default true.</summary>
    public bool ValidateArguments { get; init; } = true;

    /// <summary>The largest tool-call arguments accepted, in UTF-8 bytes.</summary>
    public int MaxArgumentBytes { get; init; } = ToolRules.DefaultMaxArgumentBytes;

    /// <summary>The largest tool result accepted, in UTF-8 bytes.</summary>
    public int MaxResultBytes { get; init; } = ToolRules.DefaultMaxResultBytes;
}
