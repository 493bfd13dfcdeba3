using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Configuration;

/// <summary>The outcome of loading a configuration: the model when it is usable, and every finding.</summary>
public sealed record PolicyConfigLoadResult
{
    /// <summary>The loaded configuration; <see langword="null"/> when any finding is an error.</summary>
    public PolicyConfig? Config { get; init; }

    /// <summary>All findings, errors and warnings, ordered by file, line and column.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; init; } = [];

    /// <summary>Whether any finding is an error.</summary>
    public bool HasErrors => Diagnostics.Any(static d => d.Severity == DiagnosticSeverity.Error);
}
