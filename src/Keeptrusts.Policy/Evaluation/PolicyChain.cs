using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>The outcome of running the chain over one phase of an exchange.</summary>
internal sealed record ChainResult(DecisionRecord Record, string[] Texts, bool[] Changed);

/// <summary>
/// Runs policies in chain order. A block short-circuits the rest; redactions compose (each policy sees the text
/// as earlier policies left it); monitor-mode policies are evaluated and recorded but never change or block; a
/// policy that fails follows the fail mode, and the record says so.
/// </summary>
internal sealed class PolicyChain(IReadOnlyList<(IChainPolicy Policy, PolicyMode Mode)> policies, PolicyConfig config, FailMode failMode, TimeProvider time)
{
    public IReadOnlyList<(IChainPolicy Policy, PolicyMode Mode)> Policies { get; } = policies;

    public async ValueTask<ChainResult> RunAsync(PolicyPhase phase, ChatView view, RequestContext request, ExchangeState exchange, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var texts = new string[view.Texts.Count];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = view.Texts[i].Text;
        }

        var maps = new OffsetMap?[texts.Length];
        var changed = new bool[texts.Length];
        var outcomes = new List<PolicyOutcome>(Policies.Count);
        var decision = PolicyDecision.Allow;
        string? blockedBy = null, reason = null, code = null;
        int? status = null;
        var context = new PolicyContext(phase, view, texts, request, exchange, config, time);

        foreach (var (policy, mode) in Policies)
        {
            if (!policy.AppliesTo(phase))
            {
                continue;
            }

            var policyStarted = time.GetTimestamp();
            PolicyVerdict verdict;
            string? error = null;
            try
            {
                verdict = await policy.EvaluateAsync(context, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // A failing policy must never take the request down with it: fail mode decides.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // The exception type only: messages may quote the content being evaluated.
                error = ex is TimeoutException or OperationCanceledException ? "timed out" : "failed (" + ex.GetType().Name + ")";
                verdict = PolicyVerdict.Allowed;
            }

            var elapsed = time.GetElapsedTime(policyStarted);
            var findings = MapFindings(verdict.Findings, maps);

            if (error is not null)
            {
                var enforced = failMode == FailMode.Block && mode == PolicyMode.Enforce;
                outcomes.Add(new PolicyOutcome { Policy = policy.Id, Decision = enforced ? PolicyDecision.Block : PolicyDecision.Allow, Enforced = enforced, Reason = $"policy '{policy.Id}' {error}; fail mode {(failMode == FailMode.Block ? "block" : "allow")}", Elapsed = elapsed, Error = error });
                if (enforced)
                {
                    (decision, blockedBy, reason, code, status) = (PolicyDecision.Block, policy.Id, $"policy '{policy.Id}' {error} and the gateway fails closed", PolicyErrors.PolicyFailureCode, PolicyErrors.PolicyFailureStatus);
                    break;
                }

                continue;
            }

            if (mode == PolicyMode.Monitor)
            {
                outcomes.Add(new PolicyOutcome { Policy = policy.Id, Decision = verdict.Decision, Enforced = false, Reason = verdict.Reason, Findings = findings, Elapsed = elapsed });
                if (verdict.Decision != PolicyDecision.Allow && decision == PolicyDecision.Allow)
                {
                    decision = PolicyDecision.Flag;
                }

                continue;
            }

            outcomes.Add(new PolicyOutcome { Policy = policy.Id, Decision = verdict.Decision, Enforced = true, Reason = verdict.Reason, Findings = findings, Elapsed = elapsed });
            switch (verdict.Decision)
            {
                case PolicyDecision.Block:
                    (decision, blockedBy, reason, code, status) = (PolicyDecision.Block, policy.Id, verdict.Reason, verdict.Code, verdict.Status);
                    break;
                case PolicyDecision.Redact:
                    ApplyEdits(verdict.Edits, texts, maps, changed);
                    decision = PolicyDecision.Redact;
                    break;
                case PolicyDecision.Flag when decision == PolicyDecision.Allow:
                    decision = PolicyDecision.Flag;
                    break;
            }

            if (decision == PolicyDecision.Block)
            {
                break;
            }
        }

        var record = NewRecord(config, phase, request, failMode, time.GetUtcNow(), view.Model ?? exchange.RequestModel, decision, outcomes, blockedBy, reason, code, status, time.GetElapsedTime(started));
        return new ChainResult(record, texts, changed);
    }

    private static void ApplyEdits(IReadOnlyList<TextEdit> edits, string[] texts, OffsetMap?[] maps, bool[] changed)
    {
        foreach (var group in edits.GroupBy(static e => e.TextIndex))
        {
            var index = group.Key;
            if ((uint)index >= (uint)texts.Length)
            {
                continue;
            }

            var list = group.ToList();
            texts[index] = (maps[index] ??= new OffsetMap()).Apply(texts[index], list);
            changed[index] = true;
        }
    }

    private static IReadOnlyList<PolicyFinding> MapFindings(IReadOnlyList<PolicyFinding> findings, OffsetMap?[] maps)
    {
        if (findings.Count == 0)
        {
            return findings;
        }

        var mapped = new PolicyFinding[findings.Count];
        for (var i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            mapped[i] = f.Text is { } t && (uint)t < (uint)maps.Length && maps[t] is { IsIdentity: false } map && f.Start is { } s && f.End is { } e
                ? f with { Start = map.MapStart(s), End = map.MapEnd(e) }
                : f;
        }

        return mapped;
    }

    internal static string NewId() => Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// Builds a record in one allocation: what every decision carries (id, time, pack, phase, who and what it was
    /// about) plus the outcome.
    /// </summary>
    internal static DecisionRecord NewRecord(
        PolicyConfig config,
        PolicyPhase phase,
        RequestContext request,
        FailMode failMode,
        DateTimeOffset now,
        string? model,
        PolicyDecision decision,
        IReadOnlyList<PolicyOutcome>? policies = null,
        string? blockedBy = null,
        string? reason = null,
        string? code = null,
        int? status = null,
        TimeSpan elapsed = default) => new()
    {
        Id = NewId(),
        Timestamp = now,
        PackName = config.Pack?.Name,
        PackVersion = config.Pack?.Version,
        Phase = phase,
        Decision = decision,
        Policies = policies ?? [],
        BlockedBy = blockedBy,
        Reason = reason,
        Code = code,
        Status = status,
        Elapsed = elapsed,
        UserId = request.UserId,
        IdentityProofMethod = request.IdentityProofMethod,
        ConversationId = request.ConversationId,
        RequestId = request.RequestId,
        InstanceId = request.InstanceId,
        ConfigRevision = request.ConfigRevision,
        Model = model,
        TargetId = request.TargetId,
        FailMode = failMode,
    };
}
