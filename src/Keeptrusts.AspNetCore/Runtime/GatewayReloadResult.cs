using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.AspNetCore;

/// <summary>The outcome of <see cref="IKeeptrustsGatewayRuntime.ReloadAsync"/>.</summary>
public sealed record GatewayReloadResult
{
    /// <summary>Whether the new document is in force (or was identical to the one in force).</summary>
    public required bool Success { get; init; }

    /// <summary>The revision in force after the reload: the new one on success, the unchanged one otherwise.</summary>
    public required string Revision { get; init; }

    /// <summary>The revision that was in force before the reload.</summary>
    public required string PreviousRevision { get; init; }

    /// <summary>Whether a new revision was swapped in (false when the document was identical, or on failure).</summary>
    public bool Changed => Success && !string.Equals(Revision, PreviousRevision, StringComparison.Ordinal);

    /// <summary>Every finding, errors and warnings, each with its file, line and column.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; init; } = [];
}
