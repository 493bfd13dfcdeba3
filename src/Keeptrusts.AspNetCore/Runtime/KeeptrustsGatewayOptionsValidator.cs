using Microsoft.Extensions.Options;

namespace Keeptrusts.AspNetCore.Runtime;

/// <summary>Checks every option and reports all problems together.</summary>
internal sealed class KeeptrustsGatewayOptionsValidator : IValidateOptions<KeeptrustsGatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, KeeptrustsGatewayOptions options)
    {
        var failures = new List<string>();
        if (options.ConfigFiles.Count == 0 && options.ConfigYaml is null)
        {
            failures.Add("No configuration: add a file to ConfigFiles (--policy-config) or set ConfigYaml.");
        }

        for (var i = 0; i < options.ConfigFiles.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.ConfigFiles[i]))
            {
                failures.Add($"ConfigFiles[{i}] is empty.");
            }
        }

        if (options.MaxConcurrency < 1)
        {
            failures.Add($"MaxConcurrency must be at least 1, found {options.MaxConcurrency}.");
        }

        if (options.MaxRequestBodyBytes < 1)
        {
            failures.Add($"MaxRequestBodyBytes must be at least 1, found {options.MaxRequestBodyBytes}.");
        }

        if (options.AdminToken is { } token && (token.Length == 0 || token.Any(static c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            failures.Add("AdminToken must be a non-empty token without spaces or control characters (or null to disable the runtime API).");
        }

        if (options.WatchConfigFiles && options.ConfigFiles.Count == 0)
        {
            failures.Add("WatchConfigFiles needs at least one file in ConfigFiles.");
        }

        if (options.ReloadDebounce < TimeSpan.Zero)
        {
            failures.Add($"ReloadDebounce must not be negative, found {options.ReloadDebounce}.");
        }

        if (options.DrainTimeout < TimeSpan.Zero && options.DrainTimeout != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"DrainTimeout must not be negative, found {options.DrainTimeout}.");
        }

        if (options.TimeProvider is null)
        {
            failures.Add("TimeProvider must be set.");
        }

        for (var i = 0; i < options.DecisionSinks.Count; i++)
        {
            if (options.DecisionSinks[i] is null)
            {
                failures.Add($"DecisionSinks[{i}] is null.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
