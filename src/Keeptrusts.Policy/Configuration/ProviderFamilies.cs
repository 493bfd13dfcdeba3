namespace Keeptrusts.Policy.Configuration;

/// <summary>How the gateway treats a provider family (the seeds' runtime boundaries).</summary>
public enum ProviderFamilyKind
{
    /// <summary>Served natively.</summary>
    Supported,

    /// <summary>Served through a local runner named by <c>adapter_command</c>; 501 without one.</summary>
    Adapter,

    /// <summary>Needs a human or an external-system loop the gateway does not emulate; rejected at load.</summary>
    Rejected,

    /// <summary>Not a family the gateway knows.</summary>
    Unknown,
}

/// <summary>
/// Classifies the <c>provider</c> value of a target, following the runtime boundaries of the gateway. The linter and
/// the provider adapters share it, so a family lints as it is served.
/// </summary>
public static class ProviderFamilies
{
    /// <summary>OpenAI and OpenAI-compatible APIs.</summary>
    public const string OpenAI = "openai";

    /// <summary>Anthropic's Messages API.</summary>
    public const string Anthropic = "anthropic";

    /// <summary>The built-in echo target (answers with the last user message).</summary>
    public const string Echo = "echo";

    /// <summary>The Model Context Protocol bridge.</summary>
    public const string Mcp = "mcp";

    /// <summary>Vercel's AI gateway (OpenAI-compatible).</summary>
    public const string Vercel = "vercel";

    /// <summary>Anthropic's agent SDK (served as Anthropic).</summary>
    public const string ClaudeAgentSdk = "anthropic:claude-agent-sdk";

    /// <summary>The prefix of a local command target (<c>exec:&lt;command&gt;</c>).</summary>
    public const string ExecPrefix = "exec:";

    /// <summary>The prefix of a canned-answers target (<c>file://&lt;path&gt;</c>).</summary>
    public const string FilePrefix = "file://";

    private static readonly HashSet<string> SupportedNames = new(StringComparer.OrdinalIgnoreCase) { OpenAI, Anthropic, Echo, Mcp, Vercel, ClaudeAgentSdk };
    private static readonly HashSet<string> AdapterNames = new(StringComparer.OrdinalIgnoreCase) { "browser", "chatkit", "websocket", "openai:agents" };
    private static readonly HashSet<string> RejectedNames = new(StringComparer.OrdinalIgnoreCase) { "manual-input", "sequence", "simulated-user", "go", "ruby", "webhook", "slack" };

    /// <summary>Every family name the gateway knows, with placeholders for the prefixed ones, for messages.</summary>
    public static IEnumerable<string> KnownNames => SupportedNames.Concat(AdapterNames).Concat(["exec:<command>", "file://<path>", "openai:chatkit:<workflow>"]);

    /// <summary>How the gateway treats <paramref name="provider"/>.</summary>
    /// <param name="provider">A target's <c>provider</c> value.</param>
    /// <returns>Its kind; <see cref="ProviderFamilyKind.Unknown"/> for a name the gateway does not know.</returns>
    public static ProviderFamilyKind Classify(string provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var p = provider.Trim();
        if (p.StartsWith(ExecPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return p.Length > ExecPrefix.Length && !string.IsNullOrWhiteSpace(p[ExecPrefix.Length..]) ? ProviderFamilyKind.Supported : ProviderFamilyKind.Unknown;
        }

        if (p.StartsWith(FilePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return p.Length > FilePrefix.Length ? ProviderFamilyKind.Supported : ProviderFamilyKind.Unknown;
        }

        if (p.StartsWith("openai:chatkit:", StringComparison.OrdinalIgnoreCase) && p.Length > "openai:chatkit:".Length)
        {
            return ProviderFamilyKind.Adapter;
        }

        if (SupportedNames.Contains(p))
        {
            return ProviderFamilyKind.Supported;
        }

        if (AdapterNames.Contains(p))
        {
            return ProviderFamilyKind.Adapter;
        }

        return RejectedNames.Contains(p) ? ProviderFamilyKind.Rejected : ProviderFamilyKind.Unknown;
    }

    /// <summary>What to use instead of a rejected family.</summary>
    /// <param name="provider">A rejected target's <c>provider</c> value.</param>
    /// <returns>One sentence naming the alternatives.</returns>
    public static string AlternativeFor(string provider) => (provider ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "go" => "bare 'go' is not executable by itself; run the program with 'exec:go run ./cmd/runner' or serve canned answers with 'file://responses.jsonl'",
        "ruby" => "bare 'ruby' is not executable by itself; run the script with 'exec:ruby runner.rb' or serve canned answers with 'file://responses.jsonl'",
        _ => "it needs a human or external-system loop the gateway does not emulate; use 'exec:<command>' to run a local script, or 'file://<path>' for canned responses",
    };
}
