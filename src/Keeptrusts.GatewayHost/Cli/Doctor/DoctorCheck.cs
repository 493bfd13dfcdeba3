namespace Keeptrusts.GatewayHost.Cli.Doctor;

/// <summary>How one doctor check came out.</summary>
internal enum DoctorStatus
{
    Ok,
    Warn,
    Fail,
}

/// <summary>One line of the doctor's report.</summary>
/// <param name="Name">What was checked: <c>config</c>, <c>policy-chain</c>, <c>credentials</c>, <c>upstream</c>, <c>control-plane</c>, <c>relay</c>, <c>rate-limit</c>.</param>
/// <param name="Status">ok, warn or fail.</param>
/// <param name="Detail">One line explaining the outcome; never a secret.</param>
/// <param name="Target">The provider target the check is about, when it is about one.</param>
internal sealed record DoctorCheck(string Name, DoctorStatus Status, string Detail, string? Target = null)
{
    public static DoctorCheck Ok(string name, string detail, string? target = null) => new(name, DoctorStatus.Ok, detail, target);

    public static DoctorCheck Warn(string name, string detail, string? target = null) => new(name, DoctorStatus.Warn, detail, target);

    public static DoctorCheck Fail(string name, string detail, string? target = null) => new(name, DoctorStatus.Fail, detail, target);
}
