namespace Keeptrusts.Policy.Diagnostics;

/// <summary>One finding about a policy configuration: a stable code, a severity, a message and where it is.</summary>
/// <param name="Code">The stable rule code, such as <c>KT1102</c>. See <c>docs/lint-rules.md</c>.</param>
/// <param name="Severity">Whether the finding is an error or a warning.</param>
/// <param name="Message">A human-readable description of the problem and, where possible, the fix.</param>
/// <param name="Location">The file, line and column the finding points at.</param>
/// <param name="Path">The path of the offending node in the document, such as <c>providers.targets[1].provider</c>; empty for the document itself.</param>
public sealed record ConfigDiagnostic(string Code, DiagnosticSeverity Severity, string Message, SourceLocation Location, string Path)
{
    /// <summary>Formats the finding as a compiler would: <c>file:line:col: error KT1001: message [path]</c>.</summary>
    /// <returns>The formatted finding.</returns>
    public override string ToString()
    {
        var severity = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return Path.Length == 0
            ? $"{Location}: {severity} {Code}: {Message}"
            : $"{Location}: {severity} {Code}: {Message} [{Path}]";
    }
}
