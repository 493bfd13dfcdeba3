using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.Options;

namespace Keeptrusts.HttpHandler;

/// <summary>
/// Checks a client's <see cref="KeeptrustsPolicyOptions"/> when they are first read and, through
/// <c>ValidateOnStart</c>, when the host starts; every problem is reported at once, each naming the client.
/// Whether a configuration lints is decided when its engine is built, where the findings are listed.
/// </summary>
internal sealed class KeeptrustsPolicyOptionsValidator(IServiceProvider services) : IValidateOptions<KeeptrustsPolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeeptrustsPolicyOptions options)
    {
        var client = $"The Keeptrusts policy of HTTP client '{name ?? Options.DefaultName}'";
        var failures = new List<string>();
        var sources = Sources(options);
        if (sources.Count > 1)
        {
            failures.Add($"{client} has {sources.Count} sources ({string.Join(", ", sources)}); set exactly one.");
        }
        else if (sources.Count == 0 && services.GetService(typeof(PolicyEngine)) is null)
        {
            failures.Add($"{client} has no source: set Engine, Config, ConfigYaml or ConfigFiles in AddKeeptrustsPolicy(...), or register a PolicyEngine in the service collection.");
        }

        foreach (var file in options.ConfigFiles)
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                failures.Add($"{client} lists an empty path in ConfigFiles.");
            }
            else if (!File.Exists(file))
            {
                failures.Add($"{client} names a configuration file that does not exist: {file}");
            }
        }

        if (options.MaxBodyBytes <= 0)
        {
            failures.Add($"{client} has MaxBodyBytes {options.MaxBodyBytes}; it must be positive.");
        }

        if (!Enum.IsDefined(options.FailMode))
        {
            failures.Add($"{client} has FailMode {(int)options.FailMode}, which is neither Block nor Allow.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Sources(KeeptrustsPolicyOptions options)
    {
        var sources = new List<string>(1);
        if (options.Engine is not null)
        {
            sources.Add(nameof(options.Engine));
        }

        if (options.Config is not null)
        {
            sources.Add(nameof(options.Config));
        }

        if (options.ConfigYaml is not null)
        {
            sources.Add(nameof(options.ConfigYaml));
        }

        if (options.ConfigFiles.Count > 0)
        {
            sources.Add(nameof(options.ConfigFiles));
        }

        return sources;
    }
}
