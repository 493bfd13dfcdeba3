namespace Keeptrusts.Policy.Policies;

/// <summary>The ids of the built-in policies, as used in <c>policies.chain</c> and <c>policy.&lt;id&gt;</c>.</summary>
internal static class PolicyCatalog
{
    public const string PromptInjection = "prompt-injection";
    public const string PiiDetector = "pii-detector";
    public const string ContentFilter = "content-filter";
    public const string ModelAllowlist = "model-allowlist";
    public const string SpendLimit = "spend-limit";
    public const string EmbeddingDetector = "embedding-detector";
    public const string AuditLogger = "audit-logger";
    public const string ToolGovernance = "tool-governance";
}
