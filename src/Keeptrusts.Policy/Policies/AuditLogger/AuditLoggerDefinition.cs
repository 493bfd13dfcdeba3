using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.AuditLogger;

/// <summary>The settings of <c>policy.audit-logger</c>.</summary>
internal sealed record AuditLoggerOptions : PolicyOptions
{
    /// <summary>The default <see cref="Path"/>, relative to the current directory.</summary>
    public const string DefaultPath = "keeptrusts-audit.jsonl";

    /// <summary>Longer than this is almost certainly a typo (days for hours, an extra digit).</summary>
    public const int MaxSensibleRetentionDays = 3650;

    /// <summary>How many days daily files are kept; null keeps them forever.</summary>
    public int? RetentionDays { get; init; }

    /// <summary>Whether every line carries a hash chain that <c>kt audit verify</c> checks.</summary>
    public bool Immutable { get; init; }

    /// <summary>Whether allowed requests are recorded too, not only those a policy flagged, redacted or blocked.</summary>
    public bool LogAllAccess { get; init; }

    /// <summary>The base name of the daily files, e.g. <c>audit/keeptrusts-audit.jsonl</c> → <c>audit/keeptrusts-audit.2025-01-31.jsonl</c>.</summary>
    public string Path { get; init; } = DefaultPath;
}

/// <summary>
/// <c>audit-logger</c>: never changes a request; appends decision records to daily JSON Lines files, optionally
/// hash-chained, and removes files past the retention period.
/// </summary>
internal sealed class AuditLoggerDefinition : PolicyDefinition<AuditLoggerOptions>
{
    public override string Id => PolicyCatalog.AuditLogger;

    protected override void Check(AuditLoggerOptions options, PolicyCheckContext context)
    {
        if (options.Immutable && options.RetentionDays is null)
        {
            context.Report(DiagnosticCodes.AuditImmutableWithoutRetention, "immutable: true without retention_days keeps the audit files forever; immutable logs are usually kept for a known period", "immutable");
        }

        if (options.RetentionDays > AuditLoggerOptions.MaxSensibleRetentionDays)
        {
            context.Report(DiagnosticCodes.AuditRetentionTooLong, $"retention_days {options.RetentionDays} is more than {AuditLoggerOptions.MaxSensibleRetentionDays} days (ten years); check the unit", "retention_days");
        }

        switch (AuditFiles.Inspect(options.Path))
        {
            case AuditPathState.Invalid:
                context.Report(DiagnosticCodes.AuditPathInvalid, $"path '{options.Path}' is not a valid file path", "path");
                break;
            case AuditPathState.IsDirectory:
                context.Report(DiagnosticCodes.AuditPathIsDirectory, $"path '{options.Path}' is a directory; name a file in it, such as '{System.IO.Path.Combine(options.Path, AuditLoggerOptions.DefaultPath)}'", "path");
                break;
            case AuditPathState.DirectoryMissing:
                context.Report(DiagnosticCodes.AuditDirectoryMissing, $"the directory of path '{options.Path}' does not exist; the audit logger creates it at start", "path");
                break;
        }
    }

    protected override IChainPolicy Create(AuditLoggerOptions options, PolicyConfig config, PolicyServices services) =>
        new AuditLoggerPolicy(options, services.Time, services.WritesStartAfter);
}
