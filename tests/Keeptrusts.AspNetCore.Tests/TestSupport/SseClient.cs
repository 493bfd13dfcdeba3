using System.Text;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>Reads an SSE response event by event, the way a raw HTTP client would.</summary>
internal sealed class SseClient(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>The next event's data (lines joined), its name, or null when the stream ended cleanly.</summary>
    public async Task<(string? Event, string Data)?> NextAsync(CancellationToken cancellationToken)
    {
        string? name = null;
        var data = new StringBuilder();
        var any = false;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    return (name, data.ToString());
                }

                continue;
            }

            any = true;
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0)
                {
                    data.Append('\n');
                }

                data.Append(line.AsSpan(5).TrimStart(' '));
            }
        }

        return null;
    }

    /// <summary>Every event until the stream ends, and how it ended: cleanly, or with a transport failure.</summary>
    public async Task<(List<(string? Event, string Data)> Events, Exception? Failure)> ReadAllAsync(CancellationToken cancellationToken)
    {
        var events = new List<(string?, string)>();
        try
        {
            while (await NextAsync(cancellationToken) is { } next)
            {
                events.Add(next);
            }

            return (events, null);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return (events, ex);
        }
    }

    public void Dispose() => _reader.Dispose();
}
