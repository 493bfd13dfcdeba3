using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Conformance;

/// <summary>One message of a case. A <c>tool</c> message answers a call the assistant message before it made.</summary>
public sealed record CaseMessage(string Role, string Text);

/// <summary>Where a case is expected to be stopped, if anywhere.</summary>
public enum BlockedAt
{
    /// <summary>Not blocked: the caller gets the answer.</summary>
    Nowhere,

    /// <summary>The request is refused before any provider is called.</summary>
    Input,

    /// <summary>The answer is refused (or the stream is cut) after the provider answered.</summary>
    Output,
}

/// <summary>
/// One row of the conformance table: a configuration, a conversation, and what every surface must make of it. The
/// provider behind every surface is an echo: it answers with the last user message as it reached the provider, so the
/// answer shows what input policies did, and output policies then run over it.
/// </summary>
public sealed record ConformanceCase
{
    public required string Name { get; init; }

    /// <summary>The configuration: a key of <see cref="Configs.All"/>.</summary>
    public string Config { get; init; } = Configs.Standard;

    public required IReadOnlyList<CaseMessage> Messages { get; init; }

    /// <summary>Names of the function tools the request offers the model (each taking an object with a string <c>q</c>).</summary>
    public IReadOnlyList<string> Tools { get; init; } = [];

    public BlockedAt Blocked { get; init; }

    /// <summary>The policy that blocks, when <see cref="Blocked"/> is not <see cref="BlockedAt.Nowhere"/>.</summary>
    public string? BlockedBy { get; init; }

    /// <summary>The answer the caller reads, when not blocked.</summary>
    public string? Answer { get; init; }

    /// <summary>The status a caller over HTTP gets for a block before the answer starts.</summary>
    public int Status { get; init; } = 400;

    /// <summary>Every finding type the decision records of the exchange name (both phases), where records can be seen.</summary>
    public IReadOnlyList<string> Findings { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>What one surface made of one case, reduced to what every surface can show.</summary>
public sealed record Outcome
{
    public BlockedAt Blocked { get; init; }

    /// <summary>False when the surface can tell that it refused but not in which phase (see <see cref="Surfaces.OpenAISdk"/>).</summary>
    public bool PhaseKnown { get; init; } = true;

    public string? BlockedBy { get; init; }

    public int? Status { get; init; }

    public string? Answer { get; init; }

    /// <summary>The decision records of the exchange, or null where the surface does not expose them.</summary>
    public IReadOnlyList<DecisionRecord>? Records { get; init; }
}
