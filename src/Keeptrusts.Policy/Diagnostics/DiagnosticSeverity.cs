namespace Keeptrusts.Policy.Diagnostics;

/// <summary>How serious a configuration finding is.</summary>
public enum DiagnosticSeverity
{
    /// <summary>The configuration works, but probably not as intended.</summary>
    Warning,

    /// <summary>The configuration cannot be enforced; the gateway refuses to start or reload with it.</summary>
    Error,
}
