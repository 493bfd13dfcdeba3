using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Linting;

namespace Keeptrusts.Policy.Policies;

/// <summary>Settings every policy accepts. A policy's own options record derives from this.</summary>
internal abstract record PolicyOptions
{
    /// <summary><c>enforce</c> (default) or <c>monitor</c>.</summary>
    public PolicyMode Mode { get; init; }
}

/// <summary>What policies may need at run time besides their settings.</summary>
internal sealed class PolicyServices
{
    public required TimeProvider Time { get; init; }

    public required ISpendStore SpendStore { get; init; }

    /// <summary>Creates the HTTP client used by policies that call out (e.g. an external embeddings endpoint).</summary>
    public required Func<HttpClient> HttpClientFactory { get; init; }

    /// <summary>Policies that write files start writing only once this completes (see <see cref="PolicyEngineOptions.WritesStartAfter"/>).</summary>
    public Task? WritesStartAfter { get; init; }

    /// <summary>Reads an environment variable; replaceable in tests.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
}

/// <summary>Where a policy reports findings about its own settings.</summary>
internal sealed class PolicyCheckContext(LintContext lint, string path, PolicyConfig config)
{
    /// <summary>The document path of the policy block, e.g. <c>policy.content-filter</c>.</summary>
    public string Path { get; } = path;

    public PolicyConfig Config { get; } = config;

    /// <summary>
    /// Reports a finding at a key of the block (<c>"input.deny_patterns[2]"</c>) or at the block itself (empty). When
    /// the policy has no settings block at all, findings about its defaults point at its entry in the chain.
    /// </summary>
    public void Report(string code, string message, string relativePath = "", DiagnosticSeverity? severity = null)
    {
        if (ConfigPath.Find(lint.Root, Path) is null && ChainEntry() is { } entry)
        {
            lint.Report(code, message, entry, severity);
            return;
        }

        lint.Report(code, message, relativePath.Length == 0 ? Path : relativePath.StartsWith('[') ? Path + relativePath : Path + "." + relativePath, severity);
    }

    private string? ChainEntry()
    {
        var id = Path[(Path.IndexOf('.', StringComparison.Ordinal) + 1)..].Trim('[', ']', '"');
        for (var i = 0; i < Config.Policies.Chain.Count; i++)
        {
            if (string.Equals(Config.Policies.Chain[i], id, StringComparison.OrdinalIgnoreCase))
            {
                return ConfigPath.Index("policies.chain", i);
            }
        }

        return null;
    }
}

/// <summary>A built-in policy: how its settings are validated and how it is created.</summary>
internal interface IPolicyDefinition
{
    string Id { get; }

    /// <summary>Binds and checks the policy's settings, reporting every problem with its position.</summary>
    void Validate(PolicySettings settings, LintContext lint);

    /// <summary>Creates the policy from settings that passed validation.</summary>
    IChainPolicy Create(PolicySettings settings, PolicyConfig config, PolicyServices services);
}

/// <summary>
/// The usual shape of a policy definition: settings bound into <typeparamref name="TOptions"/> by the configuration
/// binder (so types, enums and unknown keys are checked like everywhere else), then checked by the policy's own rules.
/// </summary>
internal abstract class PolicyDefinition<TOptions> : IPolicyDefinition
    where TOptions : PolicyOptions, new()
{
    public abstract string Id { get; }

    public void Validate(PolicySettings settings, LintContext lint)
    {
        var path = ConfigPath.Child("policy", Id);
        var diagnostics = new List<ConfigDiagnostic>();
        var options = Bind(settings, diagnostics, path);
        foreach (var diagnostic in diagnostics)
        {
            // The schema may already have said the same thing about the same key.
            if (!lint.HasFindingAt(diagnostic.Path))
            {
                lint.Add(diagnostic);
            }
        }

        Check(options, new PolicyCheckContext(lint, path, lint.Config));
    }

    public IChainPolicy Create(PolicySettings settings, PolicyConfig config, PolicyServices services)
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var options = Bind(settings, diagnostics, ConfigPath.Child("policy", Id));
        if (diagnostics.Exists(static d => d.Severity == DiagnosticSeverity.Error))
        {
            // Configurations are linted before engines are built; reaching this is a bug in the caller.
            throw new InvalidOperationException($"The settings of '{Id}' have errors: {diagnostics.First(static d => d.Severity == DiagnosticSeverity.Error)}");
        }

        return Create(options, config, services);
    }

    public static TOptions Bind(PolicySettings settings, List<ConfigDiagnostic> diagnostics, string path) =>
        new ConfigBinder(diagnostics).Bind<TOptions>(settings.Settings, path);

    /// <summary>Policy-specific checks beyond types: ranges, regexes that compile, cross-references.</summary>
    protected virtual void Check(TOptions options, PolicyCheckContext context)
    {
    }

    protected abstract IChainPolicy Create(TOptions options, PolicyConfig config, PolicyServices services);
}
