using Keeptrusts.Policy.Configuration.Binding;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.PiiDetector;

/// <summary>What <c>pii-detector</c> does with what it finds.</summary>
internal enum PiiAction
{
    /// <summary>Replace each finding with a typed placeholder and let the request through.</summary>
    Redact,

    /// <summary>Reject the request.</summary>
    Block,

    /// <summary>Record the findings and let the request through unchanged.</summary>
    Warn,
}

/// <summary>The entity types, spelled as in records and placeholders.</summary>
internal enum PiiEntity
{
    [ConfigKey("EMAIL_ADDRESS")]
    EmailAddress,

    [ConfigKey("PHONE_NUMBER")]
    PhoneNumber,

    [ConfigKey("CREDIT_CARD")]
    CreditCard,

    [ConfigKey("US_SSN")]
    UsSsn,

    [ConfigKey("IBAN_CODE")]
    IbanCode,

    [ConfigKey("IP_ADDRESS")]
    IpAddress,

    [ConfigKey("CRYPTO")]
    Crypto,

    [ConfigKey("SECRET")]
    Secret,
}

/// <summary>Settings of <c>pii-detector</c>.</summary>
internal sealed record PiiDetectorOptions : PolicyOptions
{
    public const string TypeToken = "{type}";

    public PiiAction Action { get; init; } = PiiAction.Redact;

    /// <summary>Which entity types to detect; empty (the default) means all of them.</summary>
    public IReadOnlyList<PiiEntity> Entities { get; init; } = [];

    /// <summary>Values never flagged, compared case-insensitively.</summary>
    public IReadOnlyList<string> Allow { get; init; } = [];

    /// <summary>Regexes that, matching a whole finding, exempt it.</summary>
    public IReadOnlyList<string> AllowPatterns { get; init; } = [];

    /// <summary>The placeholder; <c>{type}</c> becomes the entity type.</summary>
    public string RedactionFormat { get; init; } = "[REDACTED:" + TypeToken + "]";

    public IReadOnlyList<PolicyPhase> Phases { get; init; } = [PolicyPhase.Input, PolicyPhase.Output];
}
