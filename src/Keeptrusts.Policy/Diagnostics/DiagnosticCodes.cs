namespace Keeptrusts.Policy.Diagnostics;

/// <summary>
/// The stable codes of configuration findings. Codes never change meaning once released; retired codes are
/// not reused. KT0xxx: reading files; KT1xxx: YAML and document shape; KT2xxx: semantic rules per section;
/// KT3xxx: settings of individual policies.
/// </summary>
internal static class DiagnosticCodes
{
    public const string FileNotFound = "KT0001";
    public const string NotText = "KT0002";
    public const string FileTooLarge = "KT0003";
    public const string FileUnreadable = "KT0004";

    public const string YamlSyntax = "KT1001";
    public const string EmptyDocument = "KT1002";
    public const string RootNotMapping = "KT1003";
    public const string AliasExpansion = "KT1004";
    public const string NestingTooDeep = "KT1005";
    public const string MultipleDocuments = "KT1006";
    public const string DuplicateKey = "KT1007";
    public const string InvalidKey = "KT1008";
    public const string SchemaViolation = "KT1101";
    public const string UnknownKey = "KT1102";
    public const string WrongType = "KT1103";
    public const string MissingRequired = "KT1104";
    public const string InvalidValue = "KT1105";
    public const string UnexpandedEnvReference = "KT1201";

    public const string PackMissing = "KT2001";
    public const string PackName = "KT2002";
    public const string PackVersion = "KT2003";
    public const string UnknownPolicy = "KT2101";
    public const string PolicyNotInChain = "KT2102";
    public const string DuplicateChainEntry = "KT2103";
    public const string DuplicateTargetId = "KT2201";
    public const string RejectedFamily = "KT2202";
    public const string AdapterCommandMissing = "KT2203";
    public const string SecretKeyRefShape = "KT2204";
    public const string UnknownFamily = "KT2205";
    public const string InvalidBaseUrl = "KT2206";
    public const string DuplicateModelId = "KT2207";
    public const string McpTargetWithoutEndpoint = "KT2208";
    public const string StoreReferenceUnresolved = "KT2601";
    public const string UnknownFallbackTrigger = "KT2301";
    public const string UnknownRoutingStrategy = "KT2302";
    public const string FallbackAttemptsRange = "KT2303";
    public const string ResilienceRange = "KT2304";
    public const string UnknownRateLimitBackend = "KT2401";
    public const string RateLimitUrlEnv = "KT2402";
    public const string MemoryWithoutValkey = "KT2403";
    public const string UnknownIdentityMode = "KT2501";
    public const string JwksUrlMissing = "KT2502";
    public const string VerifiedIdentityUnreachable = "KT2503";

    // pii-detector: KT31xx
    public const string PiiAllowPatternInvalid = "KT3101";
    public const string PiiPlaceholderDetected = "KT3102";
    public const string PiiDuplicateEntity = "KT3103";
    // (end pii-detector codes)

    // prompt-injection: KT32xx
    public const string InjectionDenyPhraseInvalid = "KT3201";
    public const string InjectionThresholdLow = "KT3202";
    public const string InjectionThresholdZero = "KT3203";
    // (end prompt-injection codes)

    // content-filter: KT33xx
    public const string ContentFilterInvalidPattern = "KT3301";
    public const string ContentFilterEmptyRule = "KT3302";
    public const string ContentFilterAllowWithoutDeny = "KT3303";
    public const string ContentFilterNothingConfigured = "KT3304";
    public const string ContentFilterDuplicateKeyword = "KT3305";
    // (end content-filter codes)

    // model-allowlist: KT34xx
    public const string ModelAllowlistUnknownTarget = "KT3401";
    public const string ModelAllowlistEmptyEntry = "KT3402";
    public const string ModelAllowlistAllowsEverything = "KT3403";
    public const string ModelAllowlistInvalidGlob = "KT3404";
    // (end model-allowlist codes)

    // spend-limit: KT35xx
    public const string SpendNoLimit = "KT3501";
    public const string SpendUnknownTimeZone = "KT3502";
    public const string SpendUnpricedTarget = "KT3503";
    public const string SpendOutputEstimateRange = "KT3504";
    // (end spend-limit codes)

    // embedding-detector: KT36xx
    public const string EmbeddingEndpointMissing = "KT3601";
    public const string EmbeddingModelMissing = "KT3602";
    public const string EmbeddingNoDenyExamples = "KT3603";
    public const string EmbeddingExternalSettingsIgnored = "KT3604";
    public const string EmbeddingExampleInBothLists = "KT3605";
    // (end embedding-detector codes)

    // audit-logger: KT37xx
    public const string AuditImmutableWithoutRetention = "KT3701";
    public const string AuditDirectoryMissing = "KT3702";
    public const string AuditPathIsDirectory = "KT3703";
    public const string AuditRetentionTooLong = "KT3704";
    public const string AuditPathInvalid = "KT3705";
    // (end audit-logger codes)

    // tool-governance: KT38xx
    public const string ToolGovernanceEmptyEntry = "KT3801";
    public const string ToolGovernanceInvalidGlob = "KT3802";
    public const string ToolGovernanceAllowsEverything = "KT3803";
    public const string ToolGovernanceAllowedAndDenied = "KT3804";
    // (end tool-governance codes)

    /// <summary>Title and default severity of every code, for SARIF rule metadata and the docs.</summary>
    public static readonly IReadOnlyDictionary<string, (string Title, DiagnosticSeverity Severity)> Catalog =
        new Dictionary<string, (string, DiagnosticSeverity)>(StringComparer.Ordinal)
        {
            [FileNotFound] = ("Configuration file not found", DiagnosticSeverity.Error),
            [NotText] = ("Configuration file is not UTF-8 text", DiagnosticSeverity.Error),
            [FileTooLarge] = ("Configuration file is too large", DiagnosticSeverity.Error),
            [FileUnreadable] = ("Configuration file cannot be read", DiagnosticSeverity.Error),
            [YamlSyntax] = ("YAML syntax error", DiagnosticSeverity.Error),
            [EmptyDocument] = ("Empty document", DiagnosticSeverity.Error),
            [RootNotMapping] = ("Document is not a mapping", DiagnosticSeverity.Error),
            [AliasExpansion] = ("Alias expansion limit exceeded", DiagnosticSeverity.Error),
            [NestingTooDeep] = ("Nesting limit exceeded", DiagnosticSeverity.Error),
            [MultipleDocuments] = ("More than one YAML document in a file", DiagnosticSeverity.Error),
            [DuplicateKey] = ("Duplicate mapping key", DiagnosticSeverity.Error),
            [InvalidKey] = ("Mapping key is not a plain scalar", DiagnosticSeverity.Error),
            [SchemaViolation] = ("Value violates the policy-config schema", DiagnosticSeverity.Error),
            [UnknownKey] = ("Unknown key", DiagnosticSeverity.Warning),
            [WrongType] = ("Value has the wrong type", DiagnosticSeverity.Error),
            [MissingRequired] = ("Required field missing", DiagnosticSeverity.Error),
            [InvalidValue] = ("Value not allowed", DiagnosticSeverity.Error),
            [UnexpandedEnvReference] = ("Environment variable reference is not expanded", DiagnosticSeverity.Warning),
            [PackMissing] = ("Pack section missing", DiagnosticSeverity.Error),
            [PackName] = ("Pack name missing or malformed", DiagnosticSeverity.Error),
            [PackVersion] = ("Pack version missing or malformed", DiagnosticSeverity.Error),
            [UnknownPolicy] = ("Chain names an unknown policy", DiagnosticSeverity.Error),
            [PolicyNotInChain] = ("Policy settings for a policy not in the chain", DiagnosticSeverity.Warning),
            [DuplicateChainEntry] = ("Policy listed twice in the chain", DiagnosticSeverity.Error),
            [DuplicateTargetId] = ("Duplicate provider target id", DiagnosticSeverity.Error),
            [RejectedFamily] = ("Provider family rejected at load", DiagnosticSeverity.Error),
            [AdapterCommandMissing] = ("Adapter family without adapter_command", DiagnosticSeverity.Warning),
            [SecretKeyRefShape] = ("secret_key_ref needs exactly one of env or store", DiagnosticSeverity.Error),
            [UnknownFamily] = ("Unknown provider family", DiagnosticSeverity.Error),
            [InvalidBaseUrl] = ("Invalid base_url", DiagnosticSeverity.Error),
            [DuplicateModelId] = ("Duplicate model id in a target", DiagnosticSeverity.Error),
            [McpTargetWithoutEndpoint] = ("MCP target without base_url or adapter_command", DiagnosticSeverity.Warning),
            [StoreReferenceUnresolved] = ("secret_key_ref.store cannot be resolved through the control plane", DiagnosticSeverity.Error),
            [UnknownFallbackTrigger] = ("Unknown fallback trigger", DiagnosticSeverity.Error),
            [UnknownRoutingStrategy] = ("Unknown routing strategy", DiagnosticSeverity.Error),
            [FallbackAttemptsRange] = ("max_fallback_attempts out of range", DiagnosticSeverity.Error),
            [ResilienceRange] = ("Circuit breaker or health check setting out of range", DiagnosticSeverity.Error),
            [UnknownRateLimitBackend] = ("Unknown distributed_rate_limit backend", DiagnosticSeverity.Error),
            [RateLimitUrlEnv] = ("distributed_rate_limit.url_env missing or malformed", DiagnosticSeverity.Error),
            [UnknownIdentityMode] = ("Unknown runtime_identity mode", DiagnosticSeverity.Error),
            [JwksUrlMissing] = ("signed_assertion without jwks_url", DiagnosticSeverity.Error),
            [MemoryWithoutValkey] = ("Memory on Valkey without a distributed_rate_limit connection", DiagnosticSeverity.Warning),
            [VerifiedIdentityUnreachable] = ("Verified identity required but the mode cannot verify", DiagnosticSeverity.Warning),
            // pii-detector: KT31xx
            [PiiAllowPatternInvalid] = ("pii-detector allow pattern is not a valid regex", DiagnosticSeverity.Error),
            [PiiPlaceholderDetected] = ("pii-detector placeholder is itself detected", DiagnosticSeverity.Error),
            [PiiDuplicateEntity] = ("pii-detector entity listed twice", DiagnosticSeverity.Warning),
            // (end pii-detector catalog)
            // prompt-injection: KT32xx
            [InjectionDenyPhraseInvalid] = ("prompt-injection deny phrase empty or too long", DiagnosticSeverity.Error),
            [InjectionThresholdLow] = ("prompt-injection threshold over-blocks", DiagnosticSeverity.Warning),
            [InjectionThresholdZero] = ("prompt-injection threshold of zero", DiagnosticSeverity.Error),
            // (end prompt-injection catalog)
            // content-filter: KT33xx
            [ContentFilterInvalidPattern] = ("content-filter pattern does not compile", DiagnosticSeverity.Error),
            [ContentFilterEmptyRule] = ("content-filter keyword or pattern is empty", DiagnosticSeverity.Error),
            [ContentFilterAllowWithoutDeny] = ("content-filter allow list without a deny list", DiagnosticSeverity.Warning),
            [ContentFilterNothingConfigured] = ("content-filter has no rules", DiagnosticSeverity.Warning),
            [ContentFilterDuplicateKeyword] = ("content-filter keyword listed twice", DiagnosticSeverity.Warning),
            // (end content-filter catalog)
            // model-allowlist: KT34xx
            [ModelAllowlistUnknownTarget] = ("model-allowlist names an unknown target", DiagnosticSeverity.Error),
            [ModelAllowlistEmptyEntry] = ("model-allowlist entry is empty", DiagnosticSeverity.Error),
            [ModelAllowlistAllowsEverything] = ("model-allowlist allows everything", DiagnosticSeverity.Warning),
            [ModelAllowlistInvalidGlob] = ("model-allowlist pattern has characters a model id cannot have", DiagnosticSeverity.Error),
            // (end model-allowlist catalog)
            // spend-limit: KT35xx
            [SpendNoLimit] = ("spend-limit sets no limit", DiagnosticSeverity.Warning),
            [SpendUnknownTimeZone] = ("spend-limit time zone not known", DiagnosticSeverity.Error),
            [SpendUnpricedTarget] = ("Target without pricing under a spend limit", DiagnosticSeverity.Warning),
            [SpendOutputEstimateRange] = ("estimated_output_tokens out of range", DiagnosticSeverity.Error),
            // (end spend-limit catalog)
            // embedding-detector: KT36xx
            [EmbeddingEndpointMissing] = ("External embedding backend without endpoint", DiagnosticSeverity.Error),
            [EmbeddingModelMissing] = ("External embedding backend without model", DiagnosticSeverity.Error),
            [EmbeddingNoDenyExamples] = ("Embedding detector without deny examples", DiagnosticSeverity.Warning),
            [EmbeddingExternalSettingsIgnored] = ("External embedding settings on the local backend", DiagnosticSeverity.Warning),
            [EmbeddingExampleInBothLists] = ("Embedding example both denied and allowed", DiagnosticSeverity.Warning),
            // (end embedding-detector catalog)
            // audit-logger: KT37xx
            [AuditImmutableWithoutRetention] = ("Immutable audit log without retention_days", DiagnosticSeverity.Warning),
            [AuditDirectoryMissing] = ("Audit log directory does not exist", DiagnosticSeverity.Warning),
            [AuditPathIsDirectory] = ("Audit log path is a directory", DiagnosticSeverity.Error),
            [AuditRetentionTooLong] = ("retention_days above ten years", DiagnosticSeverity.Warning),
            [AuditPathInvalid] = ("Audit log path is empty or invalid", DiagnosticSeverity.Error),
            // (end audit-logger catalog)
            // tool-governance: KT38xx
            [ToolGovernanceEmptyEntry] = ("tool-governance entry is empty", DiagnosticSeverity.Error),
            [ToolGovernanceInvalidGlob] = ("tool-governance pattern has characters a tool name cannot have", DiagnosticSeverity.Error),
            [ToolGovernanceAllowsEverything] = ("tool-governance allows every tool", DiagnosticSeverity.Warning),
            [ToolGovernanceAllowedAndDenied] = ("tool-governance pattern both allowed and denied", DiagnosticSeverity.Warning),
            // (end tool-governance catalog)
        };
}
