using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

/// <summary>Records, writers and readers shared by the audit-logger tests.</summary>
internal static class AuditTestSupport
{
    public static readonly DateTimeOffset Day1 = new(2025, 3, 10, 12, 0, 0, TimeSpan.Zero);

    public static AuditLoggerPolicy Logger(string path, bool immutable = true, bool logAll = true, int? retentionDays = null, TimeProvider? time = null) =>
        new(new AuditLoggerOptions { Path = path, Immutable = immutable, LogAllAccess = logAll, RetentionDays = retentionDays }, time ?? new FakeTime(Day1));

    public static DecisionRecord Record(PolicyDecision decision = PolicyDecision.Block, DateTimeOffset? at = null, string? id = null) => new()
    {
        Id = id ?? Guid.NewGuid().ToString("N"),
        Timestamp = at ?? Day1,
        PackName = "team-alpha",
        PackVersion = "0.1.0",
        Phase = PolicyPhase.Input,
        Decision = decision,
        BlockedBy = decision == PolicyDecision.Block ? "pii-detector" : null,
        Reason = decision == PolicyDecision.Block ? "an email address was found" : null,
        Status = decision == PolicyDecision.Block ? 400 : null,
        Code = decision == PolicyDecision.Block ? "pii_detected" : null,
        UserId = "u-1",
        IdentityProofMethod = IdentityProofMethod.HeaderSoft,
        ConversationId = "c-1",
        RequestId = "r-1",
        Model = "gpt-4o",
        TargetId = "openai-primary",
        FailMode = FailMode.Block,
        Elapsed = TimeSpan.FromMilliseconds(1.25),
        Policies =
        [
            new PolicyOutcome
            {
                Policy = "pii-detector",
                Decision = decision,
                Enforced = true,
                Reason = "an email address was found",
                Elapsed = TimeSpan.FromMilliseconds(0.5),
                Findings = [new PolicyFinding("pii-detector", "EMAIL_ADDRESS") { Text = 0, Start = 3, End = 20, Score = 0.9, Detail = "email" }],
            },
        ],
    };

    public static readonly Gen<PolicyDecision> Decisions = Gen.Elements(PolicyDecision.Allow, PolicyDecision.Flag, PolicyDecision.Redact, PolicyDecision.Block);

    private static readonly Gen<string?> OddStrings = Gen.OneOf(
        Gen.Constant<string?>(null),
        Gen.Elements<string?>("alice", "ünïcødé", "名前", "emoji 🚀", "quote \" and \\ backslash", "\u2028line\u2029sep", "\ud800lone", "tab\there", ""));

    /// <summary>Records of every decision, some across a day boundary, with odd identity strings.</summary>
    public static readonly Gen<DecisionRecord> Records =
        from decision in Decisions
        from user in OddStrings
        from minutes in Gen.Choose(0, 3 * 24 * 60)
        from findings in Gen.Choose(0, 3)
        select Record(decision, Day1.AddMinutes(minutes)) with
        {
            UserId = user,
            Policies = [new PolicyOutcome { Policy = "p", Decision = decision, Enforced = true, Findings = Enumerable.Range(0, findings).Select(i => new PolicyFinding("p", "T" + i) { Start = i, End = i + 1 }).ToArray() }],
        };

    /// <summary>Writes the records with a fresh logger and returns the files written, oldest first.</summary>
    public static IReadOnlyList<string> WriteAll(string directory, IEnumerable<DecisionRecord> records, bool immutable = true, bool logAll = true)
    {
        var path = Path.Combine(directory, "audit.jsonl");
        var logger = Logger(path, immutable, logAll);
        try
        {
            foreach (var record in records)
            {
                logger.WriteAsync(record, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            logger.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return new AuditFiles(path).Existing().Select(static f => f.Path).ToArray();
    }

    public static AuditVerification Verify(string file)
    {
        using var stream = File.OpenRead(file);
        return AuditChain.Verify(stream);
    }

    public static AuditVerification Verify(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        return AuditChain.Verify(stream);
    }

    public static List<byte[]> Lines(byte[] bytes)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n')
            {
                lines.Add(bytes[start..i]);
                start = i + 1;
            }
        }

        Assert.Equal(bytes.Length, start);
        return lines;
    }

    public static byte[] Join(IEnumerable<byte[]> lines) => lines.SelectMany(static l => l.Append((byte)'\n')).ToArray();

    public static JsonElement[] Parse(string file) =>
        File.ReadAllLines(file, Encoding.UTF8).Select(static l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

    /// <summary>A fresh scratch directory per generated case, removed afterwards.</summary>
    public static void InTemp(Action<string> test)
    {
        using var temp = new TestFiles.TempDirectory();
        test(temp.Path);
    }
}
