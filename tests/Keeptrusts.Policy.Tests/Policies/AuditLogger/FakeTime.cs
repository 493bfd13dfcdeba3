namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

/// <summary>A clock that only moves when told to.</summary>
internal sealed class FakeTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
