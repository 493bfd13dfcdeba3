using Keeptrusts.Providers.Credentials;

namespace Keeptrusts.Providers.Factory;

/// <summary>A validated, immutable copy of <see cref="ProviderClientOptions"/>.</summary>
internal sealed record FactorySettings
{
    public string? ApiKeyHeader { get; init; }

    public string? ApiKeyPrefix { get; init; }

    public string? UpstreamApiKey { get; init; }

    public ISecretResolver? SecretResolver { get; init; }

    public int MaxResponseBytes { get; init; }

    public required TimeProvider Time { get; init; }

    public required Func<string, string?> ReadEnvironment { get; init; }

    public required string WorkingDirectory { get; init; }

    /// <summary>Validates every option and reports all problems at once.</summary>
    public static FactorySettings From(ProviderClientOptions options, ISecretResolver? resolver)
    {
        var errors = new List<string>();
        var header = string.IsNullOrWhiteSpace(options.ApiKeyHeader) ? null : options.ApiKeyHeader.Trim();
        if (header is not null && !IsToken(header))
        {
            errors.Add($"ApiKeyHeader '{header}' is not a valid HTTP header name");
        }

        var prefix = options.ApiKeyPrefix?.Trim();
        if (prefix is not null && !UpstreamCredential.IsHeaderSafe(prefix))
        {
            errors.Add("ApiKeyPrefix contains control characters");
        }

        var key = string.IsNullOrEmpty(options.UpstreamApiKey) ? null : options.UpstreamApiKey;
        if (key is not null && !UpstreamCredential.IsHeaderSafe(key))
        {
            errors.Add("UpstreamApiKey contains control characters");
        }

        if (options.MaxResponseBytes <= 0)
        {
            errors.Add($"MaxResponseBytes must be positive, found {options.MaxResponseBytes}");
        }

        if (options.TimeProvider is null)
        {
            errors.Add("TimeProvider is required");
        }

        if (options.EnvironmentVariableReader is null)
        {
            errors.Add("EnvironmentVariableReader is required");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid provider client options: " + string.Join("; ", errors), nameof(options));
        }

        return new FactorySettings
        {
            ApiKeyHeader = header,
            ApiKeyPrefix = prefix,
            UpstreamApiKey = key,
            SecretResolver = resolver,
            MaxResponseBytes = options.MaxResponseBytes,
            Time = options.TimeProvider!,
            ReadEnvironment = options.EnvironmentVariableReader!,
            WorkingDirectory = string.IsNullOrWhiteSpace(options.WorkingDirectory) ? Environment.CurrentDirectory : Path.GetFullPath(options.WorkingDirectory),
        };
    }

    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return name.Length > 0;
    }
}
