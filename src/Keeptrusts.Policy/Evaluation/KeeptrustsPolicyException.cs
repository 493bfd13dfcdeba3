namespace Keeptrusts.Policy.Evaluation;

/// <summary>
/// Thrown by the in-process surfaces (the <c>HttpClient</c> handler when asked to, the <c>IChatClient</c> decorator
/// always) when a policy blocks a request or a response. It carries the decision record, never the content that was
/// blocked.
/// </summary>
public sealed class KeeptrustsPolicyException : Exception
{
    /// <summary>Creates the exception for a blocking decision.</summary>
    /// <param name="decision">The blocking decision record.</param>
    public KeeptrustsPolicyException(DecisionRecord decision)
        : base(Describe(decision))
    {
        Decision = decision;
    }

    /// <summary>Creates the exception with no decision; prefer <see cref="KeeptrustsPolicyException(DecisionRecord)"/>.</summary>
    public KeeptrustsPolicyException()
        : this("Blocked by policy.")
    {
    }

    /// <summary>Creates the exception with a message and no decision.</summary>
    /// <param name="message">The message.</param>
    public KeeptrustsPolicyException(string message)
        : base(message)
    {
        Decision = new DecisionRecord { Id = string.Empty, Decision = PolicyDecision.Block, Reason = message };
    }

    /// <summary>Creates the exception with a message, an inner exception and no decision.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KeeptrustsPolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Decision = new DecisionRecord { Id = string.Empty, Decision = PolicyDecision.Block, Reason = message };
    }

    /// <summary>The decision record: which policy blocked, why, the status a caller over HTTP would get, and its id.</summary>
    public DecisionRecord Decision { get; }

    /// <summary>The id of the policy that blocked, if one did.</summary>
    public string? PolicyId => Decision.BlockedBy;

    private static string Describe(DecisionRecord decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var what = decision.Phase == PolicyPhase.Input ? "request" : "response";
        var reason = decision.Reason ?? "the content is not allowed";
        return decision.BlockedBy is { } policy
            ? $"The {what} was blocked by policy '{policy}': {reason} (decision {decision.Id})."
            : $"The {what} was blocked: {reason} (decision {decision.Id}).";
    }
}
