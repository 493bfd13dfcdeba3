namespace Keeptrusts.Policy.Evaluation;

/// <summary>Which side of a chat exchange is evaluated.</summary>
public enum PolicyPhase
{
    /// <summary>The request, before it leaves for the provider.</summary>
    Input,

    /// <summary>The response, before the caller gets it (streamed or not).</summary>
    Output,
}

/// <summary>A verdict, from least to most severe.</summary>
public enum PolicyDecision
{
    /// <summary>Nothing to do.</summary>
    Allow,

    /// <summary>Allowed, but recorded as noteworthy.</summary>
    Flag,

    /// <summary>Allowed after parts of the text were rewritten.</summary>
    Redact,

    /// <summary>Refused.</summary>
    Block,
}

/// <summary>What happens when a policy itself fails (throws, or times out calling out).</summary>
public enum FailMode
{
    /// <summary>The request is blocked (the default): no traffic passes unchecked.</summary>
    Block,

    /// <summary>The request continues as if the failed policy had allowed it.</summary>
    Allow,
}

/// <summary>How the caller's identity was established, as recorded in <c>identity_proof_method</c>.</summary>
public enum IdentityProofMethod
{
    /// <summary>No identity at all.</summary>
    None,

    /// <summary>Taken from <c>X-User-ID</c> / <c>X-User-Role</c> headers, unverified.</summary>
    HeaderSoft,

    /// <summary>Resolved from a gateway key.</summary>
    GatewayKey,

    /// <summary>Verified from a signed assertion.</summary>
    SignedAssertion,

    /// <summary>Supplied by in-process code that owns the call.</summary>
    InProcess,
}

/// <summary>Who and what a request is about, as far as policies and records are concerned.</summary>
public sealed record RequestContext
{
    /// <summary>The caller's user id, if known.</summary>
    public string? UserId { get; init; }

    /// <summary>The caller's role, if known.</summary>
    public string? UserRole { get; init; }

    /// <summary>The caller's team, if known.</summary>
    public string? Team { get; init; }

    /// <summary>How <see cref="UserId"/> was established.</summary>
    public IdentityProofMethod IdentityProofMethod { get; init; }

    /// <summary>The conversation the request belongs to (<c>X-Conversation-ID</c>).</summary>
    public string? ConversationId { get; init; }

    /// <summary>The provider target chosen for the request, when known.</summary>
    public string? TargetId { get; init; }

    /// <summary>A request id for correlation; one is generated when not given.</summary>
    public string? RequestId { get; init; }

    /// <summary>The gateway process that handles the request (<c>instance_id</c>), when known.</summary>
    public string? InstanceId { get; init; }

    /// <summary>The configuration revision the request is evaluated under, when known.</summary>
    public string? ConfigRevision { get; init; }
}

/// <summary>Something a policy found. Never carries the matched text itself.</summary>
/// <param name="Policy">The policy id.</param>
/// <param name="Type">What was found: an entity type (<c>EMAIL_ADDRESS</c>), <c>PROMPT_INJECTION</c>, …</param>
public sealed record PolicyFinding(string Policy, string Type)
{
    /// <summary>The index of the text in the exchange (message order), when the finding has a position.</summary>
    public int? Text { get; init; }

    /// <summary>UTF-16 start offset in that text as it arrived.</summary>
    public int? Start { get; init; }

    /// <summary>UTF-16 end offset (exclusive) in that text as it arrived.</summary>
    public int? End { get; init; }

    /// <summary>A score in [0, 1], for scored detectors.</summary>
    public double? Score { get; init; }

    /// <summary>A short qualifier such as the kind of secret (<c>aws_access_key</c>) or the matched rule's name.</summary>
    public string? Detail { get; init; }
}

/// <summary>One policy's part in a decision.</summary>
public sealed record PolicyOutcome
{
    /// <summary>The policy id.</summary>
    public required string Policy { get; init; }

    /// <summary>What the policy decided.</summary>
    public PolicyDecision Decision { get; init; }

    /// <summary>Whether the decision was enforced; false in monitor mode, and for a failure under fail mode allow.</summary>
    public bool Enforced { get; init; }

    /// <summary>Why, in words that never include the matched secret.</summary>
    public string? Reason { get; init; }

    /// <summary>What the policy found.</summary>
    public IReadOnlyList<PolicyFinding> Findings { get; init; } = [];

    /// <summary>Time spent in the policy.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The failure, when the policy threw or timed out.</summary>
    public string? Error { get; init; }
}

/// <summary>
/// The explainable record of one evaluation: the final decision, each policy's outcome, and who and what it was
/// about. Records go to every <see cref="IDecisionSink"/>; they never contain the secrets that were found.
/// </summary>
public sealed record DecisionRecord
{
    /// <summary>A unique id of the record.</summary>
    public required string Id { get; init; }

    /// <summary>When the evaluation finished.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The pack name.</summary>
    public string? PackName { get; init; }

    /// <summary>The pack version.</summary>
    public string? PackVersion { get; init; }

    /// <summary>Input or output.</summary>
    public PolicyPhase Phase { get; init; }

    /// <summary>The final decision.</summary>
    public PolicyDecision Decision { get; init; }

    /// <summary>The policy whose block decided the outcome, when blocked.</summary>
    public string? BlockedBy { get; init; }

    /// <summary>Why the request was blocked, when it was.</summary>
    public string? Reason { get; init; }

    /// <summary>The HTTP status a blocked caller gets.</summary>
    public int? Status { get; init; }

    /// <summary>The machine-readable error code a blocked caller gets.</summary>
    public string? Code { get; init; }

    /// <summary>Each policy's outcome, in chain order; policies after a block do not appear.</summary>
    public IReadOnlyList<PolicyOutcome> Policies { get; init; } = [];

    /// <summary>The caller's user id (<c>user_id</c>).</summary>
    public string? UserId { get; init; }

    /// <summary>How the user id was established (<c>identity_proof_method</c>).</summary>
    public IdentityProofMethod IdentityProofMethod { get; init; }

    /// <summary>The conversation id, if any.</summary>
    public string? ConversationId { get; init; }

    /// <summary>The request id.</summary>
    public string? RequestId { get; init; }

    /// <summary>The gateway process that made the decision (<c>instance_id</c>), when known.</summary>
    public string? InstanceId { get; init; }

    /// <summary>The configuration revision the decision was made under, when known.</summary>
    public string? ConfigRevision { get; init; }

    /// <summary>The model requested or answering.</summary>
    public string? Model { get; init; }

    /// <summary>The provider target, when known.</summary>
    public string? TargetId { get; init; }

    /// <summary>The fail mode in force.</summary>
    public FailMode FailMode { get; init; }

    /// <summary>Total time spent evaluating.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>Receives every decision record, e.g. an audit file or the control plane.</summary>
public interface IDecisionSink
{
    /// <summary>Accepts a record. Implementations must not throw for transient failures; they report them instead.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the record is accepted (not necessarily persisted).</returns>
    ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken);
}
