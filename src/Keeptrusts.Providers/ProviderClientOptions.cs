using Microsoft.Extensions.Logging;

namespace Keeptrusts.Providers;

/// <summary>
/// Settings shared by every provider client a factory creates. The gateway sets them from its command line
/// (<c>--upstream-api-key-header</c>, <c>--upstream-api-key-prefix</c>, <c>--upstream-api-key</c>) and environment
/// (<c>KEEPTRUSTS_UPSTREAM_API_KEY_HEADER</c>, <c>KEEPTRUSTS_UPSTREAM_API_KEY_PREFIX</c>, <c>KEEPTRUSTS_UPSTREAM_API_KEY</c>).
/// </summary>
public sealed class ProviderClientOptions
{
    /// <summary>The default cap on a response body or a single streamed event: 32 MiB.</summary>
    public const int DefaultMaxResponseBytes = 32 * 1024 * 1024;

    /// <summary>
    /// The header that carries the upstream credential. When not set, OpenAI-format targets use
    /// <c>Authorization</c> and Anthropic-format targets use <c>x-api-key</c>.
    /// </summary>
    public string? ApiKeyHeader { get; set; }

    /// <summary>
    /// The prefix put before the credential, separated by one space. When not set, OpenAI-format targets use
    /// <c>Bearer</c> and Anthropic-format targets send the bare key. An empty string sends the bare key everywhere.
    /// </summary>
    public string? ApiKeyPrefix { get; set; }

    /// <summary>
    /// A debug-only credential that replaces every HTTP target's <c>secret_key_ref</c> (<c>--upstream-api-key</c>).
    /// Prefer <c>secret_key_ref</c> in the configuration.
    /// </summary>
    public string? UpstreamApiKey { get; set; }

    /// <summary>Resolves <c>secret_key_ref.store</c> references. Without one, targets that use <c>store</c> cannot be created.</summary>
    public ISecretResolver? SecretResolver { get; set; }

    /// <summary>
    /// The largest response body (or single streamed event, or <c>file://</c> document, or <c>exec:</c> output) accepted
    /// from an upstream; anything larger fails with <c>InvalidResponse</c>. Default <see cref="DefaultMaxResponseBytes"/>.
    /// </summary>
    public int MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;

    /// <summary>The clock used for timeouts, <c>Retry-After</c> dates and <c>created</c> timestamps. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Reads an environment variable for <c>secret_key_ref.env</c>. Default <see cref="Environment.GetEnvironmentVariable(string)"/>;
    /// replace it to supply credentials from somewhere else or in tests.
    /// </summary>
    public Func<string, string?> EnvironmentVariableReader { get; set; } = Environment.GetEnvironmentVariable;

    /// <summary>Where <c>file://</c> paths and <c>exec:</c> commands are resolved. Default: the process working directory.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Logs startup warnings and adapter failures (never credentials or prompt text). When using dependency injection the container's factory is used.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
