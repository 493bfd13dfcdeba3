using System.Globalization;
using System.Text;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Policies.ToolGovernance;

/// <summary>
/// In the chain, bounds tool traffic inside chat exchanges: tool-call arguments (requests and answers) larger than
/// <c>max_argument_bytes</c> and tool results larger than <c>max_result_bytes</c> are refused. Tool names are decided
/// by <see cref="ToolRules"/>, which the surfaces apply where names are visible (offered tools, <c>tool_calls</c>,
/// MCP <c>tools/list</c> and <c>tools/call</c>).
/// </summary>
internal sealed class ToolGovernancePolicy(string id, ToolGovernanceOptions options) : IChainPolicy
{
    public const string SizeFinding = "TOOL_PAYLOAD_TOO_LARGE";
    public const string ArgumentsTooLargeCode = "tool_arguments_too_large";
    public const string ResultTooLargeCode = "tool_result_too_large";

    public string Id { get; } = id;

    public ToolGovernanceOptions Options { get; } = options;

    public bool AppliesTo(PolicyPhase phase) => true;

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var texts = context.View.Texts;
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            var (limit, code, what) = text.Kind switch
            {
                TextKind.ToolCallArguments => (Options.MaxArgumentBytes, ArgumentsTooLargeCode, "tool-call arguments"),
                TextKind.ToolResult => (Options.MaxResultBytes, ResultTooLargeCode, "tool result"),
                _ => (0, string.Empty, string.Empty),
            };
            if (limit > 0 && text.Text.Length > limit / 3 && Encoding.UTF8.GetByteCount(text.Text) > limit)
            {
                var size = Encoding.UTF8.GetByteCount(text.Text);
                var finding = new PolicyFinding(Id, SizeFinding) { Text = i, Detail = string.Create(CultureInfo.InvariantCulture, $"{what}: {size} bytes, limit {limit}") };
                return ValueTask.FromResult(PolicyVerdict.Block(
                    string.Create(CultureInfo.InvariantCulture, $"{what} of {size} bytes exceed the limit of {limit} bytes"),
                    code,
                    [finding],
                    PolicyErrors.BlockStatus));
            }
        }

        return ValueTask.FromResult(PolicyVerdict.Allowed);
    }

    public ToolRules ToRules(bool enforced) =>
        new(Options.Allow, Options.Deny, Options.OnViolation, Options.ValidateArguments, Options.MaxArgumentBytes, Options.MaxResultBytes, isConfigured: true, isEnforced: enforced);
}
