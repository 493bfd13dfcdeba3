using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.AspNetCore;

/// <summary>The gateway cannot start: its configuration has errors. The message lists every finding with its position.</summary>
public sealed class KeeptrustsGatewayConfigurationException : Exception
{
    /// <summary>Creates the exception for a set of findings.</summary>
    /// <param name="diagnostics">Every finding, errors and warnings.</param>
    public KeeptrustsGatewayConfigurationException(IReadOnlyList<ConfigDiagnostic> diagnostics)
        : base(Format(diagnostics)) => Diagnostics = diagnostics;

    /// <summary>Creates the exception with a message.</summary>
    public KeeptrustsGatewayConfigurationException() : this([]) { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public KeeptrustsGatewayConfigurationException(string message) : base(message) => Diagnostics = [];

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KeeptrustsGatewayConfigurationException(string message, Exception innerException) : base(message, innerException) => Diagnostics = [];

    /// <summary>Every finding, errors and warnings.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    private static string Format(IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        var errors = diagnostics.Count(static d => d.Severity == DiagnosticSeverity.Error);
        return $"The Keeptrusts gateway configuration has {errors} error(s); the gateway does not start with it:"
            + string.Concat(diagnostics.Select(static d => Environment.NewLine + "  " + d));
    }
}
