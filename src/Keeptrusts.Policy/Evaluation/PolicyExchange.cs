using System.Text.Json;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>
/// One request and its response, evaluated with the same engine and sharing state (a spend reservation made for
/// the request is settled with the response's usage). Dispose it when the exchange ends; anything left unsettled
/// is released.
/// </summary>
public sealed partial class PolicyExchange : IAsyncDisposable
{
    private readonly PolicyEngine _engine;
    private readonly ExchangeState _state = new();

    internal PolicyExchange(PolicyEngine engine, RequestContext context, bool assignRequestId = true)
    {
        _engine = engine;
        Context = context.RequestId is null && assignRequestId ? context with { RequestId = PolicyChain.NewId() } : context;
    }

    /// <summary>Who the exchange is from.</summary>
    public RequestContext Context { get; private set; }

    /// <summary>
    /// Records the provider target that serves the exchange once a router has chosen it, so the response's decision
    /// record names it and spend is priced at that target's rates. The request's own record keeps what was known then.
    /// </summary>
    /// <param name="targetId">The target id.</param>
    public void SetTarget(string targetId)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetId);
        Context = Context with { TargetId = targetId };
    }

    /// <summary>Evaluates an OpenAI chat-completions request body.</summary>
    /// <param name="body">The UTF-8 JSON body.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation: blocked (with status and reason) or the body to send on.</returns>
    public async ValueTask<PolicyEvaluation> EvaluateRequestAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        // tool-governance first: a denied tool offered to the model is stripped (or the request refused) before any
        // other policy reads the body, so the body they see is the one that goes upstream.
        List<ToolViolation>? stripped = null;
        if (_engine.Tools.IsConfigured && _engine.Config.Pack is not { Enabled: false })
        {
            stripped = [];
            body = ChatToolGovernance.ApplyToRequest(body, _engine.Tools, stripped, out var refusal, out var offered);
            _state.OfferedTools = offered;
            if (refusal is { } denied)
            {
                return new PolicyEvaluation { Record = await RecordViolationAsync(PolicyPhase.Input, denied, cancellationToken).ConfigureAwait(false) };
            }
        }

        ChatView view;
        try
        {
            view = OpenAIChatReader.ReadRequest(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return await _engine.RejectAsync(PolicyPhase.Input, "the request body is not a valid chat completion request: " + Describe(ex), Context, cancellationToken).ConfigureAwait(false);
        }

        _state.RequestModel = view.Model;
        var evaluation = await EvaluateAsync(PolicyPhase.Input, view, cancellationToken).ConfigureAwait(false);
        if (stripped is { Count: > 0 } && !evaluation.IsBlocked)
        {
            foreach (var tool in stripped)
            {
                await RecordToolDecisionAsync(PolicyPhase.Input, tool.Tool, PolicyDecision.Redact, "removed from the offered tools: " + tool.Reason, findings: [new PolicyFinding(ToolRules.PolicyId, "TOOL_STRIPPED")], cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        return evaluation;
    }

    /// <summary>Evaluates a non-streamed OpenAI chat-completions response body.</summary>
    /// <param name="body">The UTF-8 JSON body.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation: blocked, or the body to return to the caller.</returns>
    public async ValueTask<PolicyEvaluation> EvaluateResponseAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ChatView view;
        try
        {
            view = OpenAIChatReader.ReadResponse(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return await _engine.RejectAsync(PolicyPhase.Output, "the provider's response is not a valid chat completion: " + Describe(ex), Context, cancellationToken).ConfigureAwait(false);
        }

        if (view.Usage is { } usage)
        {
            _state.Usage = usage;
        }

        if (_engine.Tools.IsEnforced && _engine.Config.Pack is not { Enabled: false }
            && ChatToolGovernance.CheckResponse(body.Span, _engine.Tools, _state.OfferedTools ?? OfferedTools.None) is { } violation)
        {
            return new PolicyEvaluation { Record = await RecordViolationAsync(PolicyPhase.Output, violation, cancellationToken).ConfigureAwait(false) };
        }

        return await EvaluateAsync(PolicyPhase.Output, view, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The tool rules and the tools the request offered, for the stream guard.</summary>
    internal (ToolRules Rules, OfferedTools Offered) ToolState =>
        (_engine.Config.Pack is { Enabled: false } ? ToolRules.None : _engine.Tools, _state.OfferedTools ?? OfferedTools.None);

    internal ValueTask<DecisionRecord> RecordViolationAsync(PolicyPhase phase, ToolViolation violation, CancellationToken cancellationToken) =>
        RecordToolDecisionAsync(phase, violation.Tool, PolicyDecision.Block, violation.Reason, violation.Code, [new PolicyFinding(ToolRules.PolicyId, violation.Finding)], cancellationToken);

    /// <summary>Reports the token usage of the exchange when it was not in a response body (e.g. from a stream).</summary>
    /// <param name="usage">The usage.</param>
    public void ReportUsage(TokenUsage usage) => _state.Usage = usage;

    /// <summary>
    /// Starts evaluating a streamed response: feed it each text delta as it arrives and emit what it returns. Output
    /// policies see every character, and only a short tail is held back at any time (see <see cref="PolicyOutputStream"/>).
    /// </summary>
    /// <returns>The stream guard for this exchange's response.</returns>
    public PolicyOutputStream BeginOutputStream() => new(this, _engine);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _state.DisposeAsync();

    /// <summary>
    /// Records a decision about one tool (listed, called, refused) as a decision record of the
    /// <c>tool-governance</c> policy and passes it to the sinks. The record carries the tool name, the target and the
    /// findings; it never carries argument or result text.
    /// </summary>
    /// <param name="phase">Input for a call or listing, output for a result.</param>
    /// <param name="toolName">The tool name.</param>
    /// <param name="decision">The verdict.</param>
    /// <param name="reason">Why, naming the rule; never argument text.</param>
    /// <param name="code">The error code a refused caller gets, if refused.</param>
    /// <param name="findings">What was found (types and rules, no content).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The record.</returns>
    public async ValueTask<DecisionRecord> RecordToolDecisionAsync(PolicyPhase phase, string toolName, PolicyDecision decision, string? reason, string? code = null, IReadOnlyList<PolicyFinding>? findings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toolName);
        var blocked = decision == PolicyDecision.Block;
        var outcome = new PolicyOutcome
        {
            Policy = ToolRules.PolicyId,
            Decision = decision,
            Enforced = _engine.Tools.IsEnforced,
            Reason = reason,
            Findings = findings ?? [],
        };
        var record = PolicyChain.NewRecord(_engine.Config, phase, Context, _engine.FailMode, _engine.UtcNow, model: null, decision, [outcome], blockedBy: blocked ? ToolRules.PolicyId : null, reason: reason, code: code, status: blocked ? PolicyErrors.ForbiddenStatus : null) with
        {
            ToolName = ToolRules.Quote(toolName),
        };
        await _engine.PublishAsync(record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    internal ValueTask<PolicyEvaluation> EvaluateAsync(PolicyPhase phase, ChatView view, CancellationToken cancellationToken, bool publish = true) =>
        _engine.EvaluateAsync(phase, view, Context, _state, cancellationToken, publish);

    private static string Describe(Exception ex)
    {
        // JsonException messages carry positions but never the content; others are summarised.
        var message = ex is JsonException ? ex.Message : "invalid UTF-8 or an invalid value";
        return message.Length > 200 ? message[..200] : message;
    }
}
