using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>
/// Writes each log entry as one line (<c>2026-11-22T10:00:00.000Z info kt.gateway[1001]: message</c>) to a
/// <see cref="TextWriter"/>: the gateway's standard output, or a test's capture. Synchronous and unbuffered, so a
/// line is visible the moment it is logged (the startup line is how scripts learn the port). Exceptions are written
/// as their type and message, never a stack trace above Debug.
/// </summary>
internal sealed class LineLoggerProvider(TextWriter output, TimeProvider time) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, ShortCategory(categoryName));

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    private static string ShortCategory(string category) => category switch
    {
        _ when category.StartsWith("Keeptrusts.GatewayHost", StringComparison.Ordinal) => "kt.gateway",
        _ when category.StartsWith("Keeptrusts.", StringComparison.Ordinal) => "kt." + category["Keeptrusts.".Length..].Split('.')[0].ToLowerInvariant(),
        _ => category,
    };

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception).ReplaceLineEndings(" ");
            if (exception is not null)
            {
                message += logLevel <= LogLevel.Debug
                    ? " " + exception.ToString().ReplaceLineEndings(" | ")
                    : $" ({exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")})";
            }

            var timestamp = provider.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            provider.Write(string.Create(CultureInfo.InvariantCulture, $"{timestamp} {Level(logLevel)} {category}[{eventId.Id}]: {message}"));
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }

    private TimeProvider Time => time;
}
