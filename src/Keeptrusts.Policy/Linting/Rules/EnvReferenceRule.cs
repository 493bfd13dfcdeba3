using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>
/// Values are never expanded from the environment, so a value that looks like <c>${VAR}</c> is almost certainly a
/// mistake: it reaches the upstream literally. Credentials come only through <c>secret_key_ref</c>.
/// </summary>
internal sealed partial class EnvReferenceRule : IConfigRule
{
    public void Check(LintContext context) => Visit(context, context.Root, string.Empty);

    private static void Visit(LintContext context, ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigMapping map:
                foreach (var entry in map.Entries)
                {
                    Visit(context, entry.Value, ConfigPath.Child(path, entry.Key.Value!));
                }

                break;
            case ConfigSequence seq:
                for (var i = 0; i < seq.Items.Count; i++)
                {
                    Visit(context, seq.Items[i], ConfigPath.Index(path, i));
                }

                break;
            case ConfigScalar { Kind: ScalarKind.String, Value: { } text } when text.Contains('$', StringComparison.Ordinal) && Reference().Match(text) is { Success: true } m:
                context.Report(DiagnosticCodes.UnexpandedEnvReference, $"'{m.Value}' is not expanded: configuration values are used as written. For a credential use secret_key_ref: {{ env: {m.Groups["name"].Value} }}", path);
                break;
        }
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}|\$(?<name>[A-Z_][A-Z0-9_]{2,})\b")]
    private static partial Regex Reference();
}
