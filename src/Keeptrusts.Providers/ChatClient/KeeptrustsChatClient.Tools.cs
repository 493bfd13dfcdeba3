using System.Text.Json;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tools;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.ChatClient;

/// <content>tool-governance on Microsoft.Extensions.AI tools: offered tools stripped or refused, function calls checked.</content>
public sealed partial class KeeptrustsChatClient
{
    /// <summary>
    /// Applies the tool rules to <see cref="ChatOptions.Tools"/>: a denied tool is removed (<c>on_violation: strip</c>)
    /// or the request refused (<c>block</c>). Returns the options to send and the tools offered, for checking calls.
    /// </summary>
    private async ValueTask<(ChatOptions? Options, OfferedTools Offered, List<ToolViolation> Stripped)> GovernToolsAsync(PolicyExchange exchange, ChatOptions? options, CancellationToken cancellationToken)
    {
        var rules = _engine.Tools;
        var stripped = new List<ToolViolation>();
        if (options?.Tools is not { Count: > 0 } tools || !rules.IsConfigured || _engine.Config.Pack is { Enabled: false })
        {
            return (options, OfferedTools.None, stripped);
        }

        var keep = new List<AITool>(tools.Count);
        var schemas = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            var decision = rules.Decide(tool.Name);
            if (!decision.IsAllowed && rules.IsEnforced)
            {
                var violation = new ToolViolation(tool.Name, decision.Reason, ChatToolGovernance.DeniedCode, "TOOL_DENIED");
                if (rules.OnViolation == ToolViolationAction.Block)
                {
                    var record = await exchange.RecordToolDecisionAsync(PolicyPhase.Input, violation.Tool, PolicyDecision.Block, violation.Reason, violation.Code, [new PolicyFinding(ToolRules.PolicyId, violation.Finding)], cancellationToken).ConfigureAwait(false);
                    Remember(record);
                    throw new KeeptrustsPolicyException(record);
                }

                stripped.Add(violation);
                continue;
            }

            if (tool is AIFunctionDeclaration function)
            {
                schemas[tool.Name] = function.JsonSchema;
            }

            keep.Add(tool);
        }

        if (stripped.Count == 0)
        {
            return (options, new OfferedTools(schemas), stripped);
        }

        var governed = options.Clone();
        governed.Tools = keep.Count > 0 ? keep : null;
        if (governed.ToolMode is RequiredChatToolMode { RequiredFunctionName: { } required } && stripped.Exists(v => v.Tool == required))
        {
            governed.ToolMode = keep.Count > 0 ? ChatToolMode.Auto : null;
        }

        return (governed, new OfferedTools(schemas), stripped);
    }

    /// <summary>Records each stripped tool once the request's own policies have let it through.</summary>
    private static async ValueTask RecordStrippedAsync(PolicyExchange exchange, List<ToolViolation> stripped, CancellationToken cancellationToken)
    {
        foreach (var tool in stripped)
        {
            await exchange.RecordToolDecisionAsync(PolicyPhase.Input, tool.Tool, PolicyDecision.Redact, "removed from the offered tools: " + tool.Reason, findings: [new PolicyFinding(ToolRules.PolicyId, "TOOL_STRIPPED")], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses a function call the model asked for that names a denied tool or carries invalid arguments.</summary>
    private async ValueTask CheckCallAsync(PolicyExchange exchange, FunctionCallContent call, OfferedTools offered, CancellationToken cancellationToken)
    {
        var rules = _engine.Config.Pack is { Enabled: false } ? ToolRules.None : _engine.Tools;
        var arguments = call.Arguments is null ? "{}" : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions);
        if (ChatToolGovernance.CheckCall(call.Name, arguments, rules, offered) is { } violation)
        {
            var record = await exchange.RecordToolDecisionAsync(PolicyPhase.Output, violation.Tool, PolicyDecision.Block, violation.Reason, violation.Code, [new PolicyFinding(ToolRules.PolicyId, violation.Finding)], cancellationToken).ConfigureAwait(false);
            Remember(record);
            throw new KeeptrustsPolicyException(record);
        }
    }
}
