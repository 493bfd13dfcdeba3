using System.Globalization;
using System.Net.Http.Headers;

namespace Keeptrusts.Providers.Http;

/// <summary>Reads how long an upstream asked callers to wait: <c>retry-after-ms</c>, or <c>Retry-After</c> as seconds or an HTTP-date.</summary>
internal static class RetryAfter
{
    private static readonly string[] HttpDateFormats =
    [
        "r",                                   // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'",      // RFC 850
        "ddd MMM d HH:mm:ss yyyy",             // asctime
        "ddd MMM dd HH:mm:ss yyyy",
    ];

    public static TimeSpan? From(HttpResponseHeaders headers, TimeProvider time)
    {
        if (headers.TryGetValues("retry-after-ms", out var millis)
            && double.TryParse(millis.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
            && ms >= 0 && double.IsFinite(ms))
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        return headers.TryGetValues("Retry-After", out var values) ? Parse(values.FirstOrDefault(), time.GetUtcNow()) : null;
    }

    /// <summary>Parses a <c>Retry-After</c> value: delay seconds, or an HTTP-date measured from <paramref name="now"/> (a past date is zero).</summary>
    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
        {
            return seconds > TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);
        }

        if (DateTimeOffset.TryParseExact(text, HttpDateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.AssumeUniversal, out var date))
        {
            var delay = date - now;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }

        return null;
    }
}
