using System.Text.RegularExpressions;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>The pack has a well-formed name and a semantic version.</summary>
internal sealed partial class PackRule : IConfigRule
{
    public void Check(LintContext context)
    {
        if (context.Config.Pack is not { } pack)
        {
            return;
        }

        if (pack.Name.Length > 0 && !NamePattern().IsMatch(pack.Name))
        {
            context.Report(DiagnosticCodes.PackName, $"pack name '{pack.Name}' is malformed; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128 characters (e.g. team-alpha-prod)", "pack.name");
        }

        if (pack.Version.Length > 0 && !SemVerPattern().IsMatch(pack.Version))
        {
            context.Report(DiagnosticCodes.PackVersion, $"pack version '{pack.Version}' is not a semantic version; write MAJOR.MINOR.PATCH such as 0.1.0 (quote it if YAML reads it as a number)", "pack.version");
        }
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    // Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH with optional pre-release and build metadata.
    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    private static partial Regex SemVerPattern();
}
