using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Linting.Rules;
using Keeptrusts.Policy.Policies;

namespace Keeptrusts.Policy.Linting;

/// <summary>
/// Runs every check over a merged document: binding (types, required and unknown keys), the JSON Schema, and the
/// semantic rules. All findings are collected; nothing stops at the first.
/// </summary>
internal static class PolicyLinter
{
    private static readonly IConfigRule[] Rules =
    [
        new PackRule(),
        new ChainRule(PolicyRegistry.All.Keys.Order(StringComparer.Ordinal).ToArray()),
        new ProviderTargetRule(),
        new ResilienceRule(),
        new GatewayRule(),
        new EnvReferenceRule(),
        new PolicySettingsRule(),
    ];

    public static PolicyConfig Lint(ConfigMapping root, List<ConfigDiagnostic> diagnostics)
    {
        var config = new ConfigBinder(diagnostics).Bind<PolicyConfig>(root, string.Empty) with { Root = root };
        SchemaValidator.Validate(root, diagnostics);
        var context = new LintContext(config, root, diagnostics);
        foreach (var rule in Rules)
        {
            rule.Check(context);
        }

        return config;
    }
}
