using System.Globalization;

namespace Keeptrusts.Policy.Tools;

/// <summary>What happens to a denied tool that a chat-completions request offers the model.</summary>
public enum ToolViolationAction
{
    /// <summary>The tool is removed from the request's <c>tools</c>; the rest of the request goes on.</summary>
    Strip,

    /// <summary>The whole request is refused.</summary>
    Block,
}

/// <summary>The decision about one tool name.</summary>
/// <param name="IsAllowed">Whether the tool may be listed and called.</param>
/// <param name="Rule">The rule that decided: <c>deny[i]</c>, <c>allow[i]</c>, or null (no lists, or not on the allow list).</param>
/// <param name="Reason">Why, in words, naming the rule; never argument text.</param>
public readonly record struct ToolDecision(bool IsAllowed, string? Rule, string Reason);

/// <summary>
/// The tool rules of the enforced <c>tool-governance</c> policy: which tool names a caller may use, how large
/// arguments and results may be, and whether arguments are checked against the tool's input schema. Immutable and
/// thread-safe. The rule: a name matching any <c>deny</c> glob is denied; otherwise, with a non-empty <c>allow</c>
/// list, a name matching no <c>allow</c> glob is denied; everything else is allowed. Globs match whole names, case
/// never matters, <c>*</c> is any run of characters and <c>?</c> any one.
/// </summary>
public sealed class ToolRules
{
    /// <summary>Default of <c>max_argument_bytes</c>: 64 KiB.</summary>
    public const int DefaultMaxArgumentBytes = 64 * 1024;

    /// <summary>Default of <c>max_result_bytes</c>: 1 MiB.</summary>
    public const int DefaultMaxResultBytes = 1024 * 1024;

    /// <summary>The id of the policy these rules come from.</summary>
    public const string PolicyId = "tool-governance";

    private readonly string[] _allow;
    private readonly string[] _deny;

    internal ToolRules(IReadOnlyList<string> allow, IReadOnlyList<string> deny, ToolViolationAction onViolation, bool validateArguments, int maxArgumentBytes, int maxResultBytes, bool isConfigured, bool isEnforced)
    {
        _allow = [.. allow];
        _deny = [.. deny];
        OnViolation = onViolation;
        ValidateArguments = validateArguments;
        MaxArgumentBytes = maxArgumentBytes;
        MaxResultBytes = maxResultBytes;
        IsConfigured = isConfigured;
        IsEnforced = isEnforced;
    }

    /// <summary>Rules that allow every tool, for a chain without <c>tool-governance</c>; size limits keep their defaults.</summary>
    public static ToolRules None { get; } = new([], [], ToolViolationAction.Strip, validateArguments: true, DefaultMaxArgumentBytes, DefaultMaxResultBytes, isConfigured: false, isEnforced: false);

    /// <summary>Whether the chain has a <c>tool-governance</c> policy.</summary>
    public bool IsConfigured { get; }

    /// <summary>Whether its verdicts are enforced (false in <c>monitor</c> mode or when the pack is disabled: denials are recorded, not applied).</summary>
    public bool IsEnforced { get; }

    /// <summary>The allow globs, as configured.</summary>
    public IReadOnlyList<string> Allow => _allow;

    /// <summary>The deny globs, as configured.</summary>
    public IReadOnlyList<string> Deny => _deny;

    /// <summary>What a denied tool offered in a chat-completions request does.</summary>
    public ToolViolationAction OnViolation { get; }

    /// <summary>Whether arguments are checked against the tool's input schema.</summary>
    public bool ValidateArguments { get; }

    /// <summary>The largest tool-call arguments accepted, in UTF-8 bytes.</summary>
    public int MaxArgumentBytes { get; }

    /// <summary>The largest tool result accepted, in UTF-8 bytes.</summary>
    public int MaxResultBytes { get; }

    /// <summary>Decides whether <paramref name="toolName"/> may be listed and called.</summary>
    /// <param name="toolName">The tool name.</param>
    /// <returns>The decision.</returns>
    public ToolDecision Decide(string toolName)
    {
        ArgumentNullException.ThrowIfNull(toolName);
        for (var i = 0; i < _deny.Length; i++)
        {
            if (ToolGlob.IsMatch(_deny[i], toolName))
            {
                var rule = Rule("deny", i);
                return new ToolDecision(false, rule, $"tool '{Quote(toolName)}' is denied by {rule} ('{_deny[i]}')");
            }
        }

        if (_allow.Length == 0)
        {
            return new ToolDecision(true, null, $"tool '{Quote(toolName)}' is allowed: no allow list and no deny rule matches");
        }

        for (var i = 0; i < _allow.Length; i++)
        {
            if (ToolGlob.IsMatch(_allow[i], toolName))
            {
                var rule = Rule("allow", i);
                return new ToolDecision(true, rule, $"tool '{Quote(toolName)}' is allowed by {rule} ('{_allow[i]}')");
            }
        }

        return new ToolDecision(false, null, $"tool '{Quote(toolName)}' is not on the allow list ({string.Join(", ", _allow)})");
    }

    private static string Rule(string list, int index) => list + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>Tool names come from callers and models: a reason quotes a bounded prefix.</summary>
    internal static string Quote(string value) => value.Length <= 100 ? value : value[..100] + "…";
}
