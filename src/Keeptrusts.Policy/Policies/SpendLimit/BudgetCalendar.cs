namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>The budget day: the calendar day, in the configured time zone, that a moment falls on.</summary>
internal sealed class BudgetCalendar(TimeZoneInfo zone)
{
    /// <summary>Longer than any real time zone id; longer input is rejected before it reaches the system.</summary>
    private const int MaxIdLength = 128;

    public TimeZoneInfo Zone { get; } = zone;

    public DateOnly DayOf(DateTimeOffset instant) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, Zone).DateTime);

    /// <summary>
    /// Resolves an IANA id (<c>Europe/Paris</c>) or, where the system can map it, a Windows id
    /// (<c>Romance Standard Time</c>). <c>UTC</c> always resolves, even without time zone data installed. With
    /// invariant globalization (the gateway's setting) Linux and macOS resolve IANA ids from the system's tz database
    /// but cannot map Windows ids, which need ICU there; lint runs on the same runtime that enforces, so an id it
    /// accepts is one enforcement can use.
    /// </summary>
    public static bool TryResolve(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > MaxIdLength)
        {
            return false;
        }

        if (string.Equals(id, "UTC", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
