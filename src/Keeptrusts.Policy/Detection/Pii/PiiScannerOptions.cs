namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Configures a <see cref="PiiScanner"/>. The scanner copies what it needs at construction.</summary>
internal sealed record PiiScannerOptions
{
    /// <summary>The entity types to look for. Defaults to <see cref="PiiEntityType.All"/>.</summary>
    public PiiEntityType Entities { get; init; } = PiiEntityType.All;

    /// <summary>Exact values (compared ordinally, ignoring case) that are never reported, for example a support mailbox.</summary>
    public IReadOnlyList<string> AllowList { get; init; } = [];

    /// <summary>
    /// Regular expressions that exempt a finding when they match its whole value (the pattern is
    /// anchored at both ends). They run only on findings, never on the whole text.
    /// </summary>
    public IReadOnlyList<string> AllowPatterns { get; init; } = [];
}
