using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Tests.TestSupport;

/// <summary>The checks every lint-rule table makes of the finding its row expects.</summary>
internal static class LintAssert
{
    /// <summary>
    /// Asserts exactly one finding with <paramref name="code"/>, at <paramref name="path"/> and <paramref name="line"/>,
    /// with the catalog's severity and a message, and that an error keeps the configuration from loading.
    /// </summary>
    public static ConfigDiagnostic SingleFinding(PolicyConfigLoadResult result, string code, string path, int line, string name)
    {
        var finding = Assert.Single(result.Diagnostics, d => d.Code == code);
        Assert.Equal(path, finding.Path);
        Assert.Equal(line, finding.Location.Line);
        Assert.Equal(DiagnosticCodes.Catalog[code].Severity, finding.Severity);
        Assert.False(string.IsNullOrWhiteSpace(finding.Message), name);
        if (finding.Severity == DiagnosticSeverity.Error)
        {
            Assert.Null(result.Config);
        }

        return finding;
    }
}
