using System.Diagnostics;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies;
using Keeptrusts.Policy.Policies.ModelAllowlist;
using Keeptrusts.Policy.Policies.ToolGovernance;
using Keeptrusts.Policy.Telemetry;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Evaluation;

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
