using System.Diagnostics;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.Policies.ModelAllowlist;
using Keeptrusts.Policy.Policies.ToolGovernance;
using Keeptrusts.Policy.Telemetry;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>Options of a <see cref="PolicyEngine"/>.</summary>
public sealed class PolicyEngineOptions
{
    /// <summary>What a failing policy does. Default <see cref="FailMode.Block"/>.</summary>
    public FailMode FailMode { get; set; } = FailMode.Block;

    /// <summary>The clock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where decision records go, besides the policies that record them themselves (such as <c>audit-logger</c>).</summary>
    public IList<IDecisionSink> Sinks { get; } = new List<IDecisionSink>();

    /// <summary>Where spend limits count spend. Default: in this process's memory.</summary>
    public ISpendStore? SpendStore { get; set; }

    /// <summary>Creates HTTP clients for policies that call out. Default: one shared <see cref="HttpClient"/>.</summary>
    public Func<HttpClient>? HttpClientFactory { get; set; }

    /// <summary>
    /// When set, policies that write files (the audit log) accept records at once but start writing only when this
    /// task completes. Set it when the engine replaces another one that writes the same files, and complete it once
    /// the old engine is disposed: the files are then never open twice and the hash chain continues in order.
    /// </summary>
    public Task? WritesStartAfter { get; set; }
}

/// <summary>The outcome of evaluating one phase of an exchange.</summary>
public sealed record PolicyEvaluation
{
    /// <summary>The explainable record of the decision.</summary>
    public required DecisionRecord Record { get; init; }

    /// <summary>The final decision.</summary>
    public PolicyDecision Decision => Record.Decision;

    /// <summary>Whether the exchange must not continue.</summary>
    public bool IsBlocked => Record.Decision == PolicyDecision.Block;

    /// <summary>The body to send on: the original bytes, or a copy with only the redacted strings rewritten.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The evaluated texts after redaction, in exchange order.</summary>
    public IReadOnlyList<string> Texts { get; init; } = [];
}

/// <summary>
/// Enforces one <see cref="PolicyConfig"/>: builds the chain once and evaluates exchanges with it. Immutable and
/// thread-safe; a configuration change is a new engine. Dispose an engine once no exchange uses it any more: that
/// flushes and closes what its policies hold (such as the audit log).
/// </summary>
public sealed class PolicyEngine : IAsyncDisposable
{
    private static readonly Lazy<HttpClient> SharedHttpClient = new(static () => new HttpClient());
    private static readonly RequestContext NoContext = new();

    private readonly PolicyChain _chain;
    private readonly IReadOnlyList<IDecisionSink> _sinks;
    private readonly TimeProvider _time;

    private PolicyEngine(PolicyConfig config, PolicyChain chain, IReadOnlyList<IDecisionSink> sinks, FailMode failMode, TimeProvider time)
    {
        Config = config;
        _chain = chain;
        Tools = ToolRules.None;
        foreach (var (policy, mode) in chain.Policies)
        {
            if (policy is ToolGovernancePolicy tools)
            {
                Tools = tools.ToRules(enforced: mode == PolicyMode.Enforce && config.Pack is not { Enabled: false });
                break;
            }
        }

        _sinks = sinks;
        FailMode = failMode;
        _time = time;
    }

    /// <summary>The configuration enforced.</summary>
    public PolicyConfig Config { get; }

    /// <summary>The fail mode in force.</summary>
    public FailMode FailMode { get; }

    /// <summary>
    /// The tool rules of the chain's <c>tool-governance</c> policy (<see cref="ToolRules.None"/> without one): what
    /// MCP bridges and chat surfaces apply to tool names, arguments and results.
    /// </summary>
    public ToolRules Tools { get; }

    internal PolicyChain Chain => _chain;

    /// <summary>The number of decision records a sink failed to accept.</summary>
    public long SinkFailures => Interlocked.Read(ref _sinkFailures);

    private long _sinkFailures;

    /// <summary>Builds the engine for a configuration that loaded without errors.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <returns>The engine.</returns>
    /// <exception cref="InvalidOperationException">The chain names a policy this version does not provide.</exception>
    public static PolicyEngine Create(PolicyConfig config, PolicyEngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new PolicyEngineOptions();
        var services = new PolicyServices
        {
            Time = options.TimeProvider,
            SpendStore = options.SpendStore ?? new InMemorySpendStore(),
            HttpClientFactory = options.HttpClientFactory ?? (static () => SharedHttpClient.Value),
            WritesStartAfter = options.WritesStartAfter,
        };

        var policies = new List<(IChainPolicy, PolicyMode)>();
        var sinks = new List<IDecisionSink>(options.Sinks);
        foreach (var id in config.Policies.Chain)
        {
            if (!PolicyRegistry.TryGet(id, out var definition))
            {
                throw new InvalidOperationException($"The chain names '{id}', which this version of Keeptrusts does not provide.");
            }

            var settings = config.Policy.TryGetValue(id, out var s) ? s : new PolicySettings();
            var policy = definition.Create(settings, config, services);
            policies.Add((policy, settings.Mode));
            if (policy is IDecisionSink sink)
            {
                sinks.Add(sink);
            }
        }

        var chain = new PolicyChain(policies, config, options.FailMode, options.TimeProvider);
        return new PolicyEngine(config, chain, sinks, options.FailMode, options.TimeProvider);
    }

    /// <summary>
    /// Whether the enforced <c>model-allowlist</c> policy lets a request go to <paramref name="targetId"/> with
    /// <paramref name="model"/>: the router's filter, so that routing and fallback never reach a target or model the
    /// allowlist forbids. True when the chain has no such policy, when it is in monitor mode, or when the pack is disabled.
    /// </summary>
    /// <param name="targetId">A provider target id.</param>
    /// <param name="model">The model the target would be asked for.</param>
    /// <returns>Whether the pair is allowed.</returns>
    public bool AllowsTarget(string targetId, string model)
    {
        ArgumentNullException.ThrowIfNull(targetId);
        ArgumentNullException.ThrowIfNull(model);
        if (Config.Pack is { Enabled: false })
        {
            return true;
        }

        foreach (var (policy, mode) in _chain.Policies)
        {
            if (mode == PolicyMode.Enforce && policy is ModelAllowlistPolicy allowlist
                && allowlist.Decide(model, targetId).Decision == PolicyDecision.Block)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Starts an exchange: a request and, later, its response, sharing state such as spend reservations.</summary>
    /// <param name="context">Who the request is from, or null when unknown.</param>
    /// <returns>The exchange; dispose it when the exchange is over.</returns>
    public PolicyExchange BeginExchange(RequestContext? context = null) =>
        new(this, context ?? new RequestContext());

    /// <summary>Evaluates one text as a single user message (input) or assistant answer (output).</summary>
    /// <param name="text">The text.</param>
    /// <param name="phase">The phase.</param>
    /// <param name="context">Who it is from, or null.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation.</returns>
    public async ValueTask<PolicyEvaluation> EvaluateTextAsync(string text, PolicyPhase phase = PolicyPhase.Input, RequestContext? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);

        // A single evaluation has no second phase to correlate, so it needs no generated request id.
        var exchange = new PolicyExchange(this, context ?? NoContext, assignRequestId: false);
        await using (exchange.ConfigureAwait(false))
        {
            var view = phase == PolicyPhase.Input ? ChatView.FromUserText(text) : ChatView.FromAssistantText(text);
            return await exchange.EvaluateAsync(phase, view, cancellationToken).ConfigureAwait(false);
        }
    }

    internal async ValueTask<PolicyEvaluation> EvaluateAsync(PolicyPhase phase, ChatView view, RequestContext context, ExchangeState state, CancellationToken cancellationToken, bool publish = true)
    {
        // One span per published evaluation: a streamed answer's intermediate releases are part of its final one.
        using var activity = publish ? PolicyActivities.Source.StartActivity(phase == PolicyPhase.Input ? "keeptrusts.policy.input" : "keeptrusts.policy.output") : null;
        PolicyEvaluation evaluation;
        if (Config.Pack is { Enabled: false })
        {
            evaluation = new PolicyEvaluation
            {
                Record = PolicyChain.NewRecord(Config, phase, context, FailMode, _time.GetUtcNow(), view.Model, PolicyDecision.Allow, reason: "the pack is disabled; traffic passes unchanged"),
                Body = view.Body,
                Texts = view.Texts.Select(static t => t.Text).ToArray(),
            };
        }
        else
        {
            var result = await _chain.RunAsync(phase, view, context, state, cancellationToken).ConfigureAwait(false);
            var body = view.Body;
            if (result.Record.Decision != PolicyDecision.Block && result.Changed.Any(static c => c) && !view.Body.IsEmpty)
            {
                var replacements = new List<(int, string)>();
                for (var i = 0; i < result.Changed.Length; i++)
                {
                    if (result.Changed[i])
                    {
                        replacements.Add((i, result.Texts[i]));
                    }
                }

                body = OpenAIChatReader.Rewrite(view, replacements);
            }

            evaluation = new PolicyEvaluation { Record = result.Record, Body = body, Texts = result.Texts };
        }

        if (activity is not null)
        {
            Describe(activity, phase, evaluation.Record);
        }

        if (publish)
        {
            await PublishAsync(evaluation.Record, cancellationToken).ConfigureAwait(false);
        }

        return evaluation;
    }

    internal DateTimeOffset UtcNow => _time.GetUtcNow();

    private static void Describe(Activity activity, PolicyPhase phase, DecisionRecord record)
    {
        if (!activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(PolicyActivities.Phase, phase == PolicyPhase.Input ? "input" : "output");
        activity.SetTag(PolicyActivities.Decision, DecisionName(record.Decision));
        var findings = 0;
        foreach (var outcome in record.Policies)
        {
            findings += outcome.Findings.Count;
        }

        activity.SetTag(PolicyActivities.FindingCount, findings);
        if (record.Model is { } model)
        {
            activity.SetTag(PolicyActivities.RequestModel, model);
        }

        if (record.BlockedBy is { } blockedBy)
        {
            activity.SetTag(PolicyActivities.BlockedBy, blockedBy);
            activity.SetStatus(ActivityStatusCode.Error, record.Code);
        }
    }

    private static string DecisionName(PolicyDecision decision) => decision switch
    {
        PolicyDecision.Allow => "allow",
        PolicyDecision.Flag => "flag",
        PolicyDecision.Redact => "redact",
        _ => "block",
    };

    /// <summary>Flushes and releases what the policies hold. Exchanges still running must have finished.</summary>
    /// <returns>A task that completes when every policy is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        List<Exception>? failures = null;
        foreach (var (policy, _) in _chain.Policies)
        {
            try
            {
                switch (policy)
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
#pragma warning disable CA1031 // Every policy gets disposed even when one fails; the failures are reported together.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("Some policies failed to release their resources.", failures);
        }
    }

    private int _disposed;

    internal async ValueTask<PolicyEvaluation> RejectAsync(PolicyPhase phase, string reason, RequestContext context, CancellationToken cancellationToken)
    {
        var record = PolicyChain.NewRecord(Config, phase, context, FailMode, _time.GetUtcNow(), model: null, PolicyDecision.Block, reason: reason, code: "invalid_request_error", status: 400);
        await PublishAsync(record, cancellationToken).ConfigureAwait(false);
        return new PolicyEvaluation { Record = record };
    }

    internal async ValueTask PublishAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.WriteAsync(record, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A sink failure must never fail the request; it is counted instead.
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _sinkFailures);
            }
        }
    }
}

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
