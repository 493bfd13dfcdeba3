using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator.Events;

/// <summary><c>POST /v1/events</c> (gateways report) and <c>GET /v1/events</c> (<c>kt events</c> reads).</summary>
public static class EventsEndpoints
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 1000;

    /// <summary>Maps the events endpoints.</summary>
    public static IEndpointRouteBuilder MapEventsEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/events", PostAsync);
        endpoints.MapGet("/v1/events", Get);
        return endpoints;
    }

    private static async Task<IResult> PostAsync(HttpContext context, EmulatorStore store)
    {
        if (ApiAuth.Check(context, store, "events:write") is { } denied)
        {
            return denied;
        }

        var (doc, error) = await ApiAuth.ReadJsonAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            if (doc!.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("events", out var events)
                || events.ValueKind != JsonValueKind.Array)
            {
                return ApiAuth.Error(400, "invalid_request", "expected {\"events\":[...]}");
            }

            var parsed = new List<JsonObject>(events.GetArrayLength());
            foreach (var e in events.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object
                    || !e.TryGetProperty("event_id", out var id) || id.ValueKind != JsonValueKind.String)
                {
                    return ApiAuth.Error(400, "invalid_event", "every event must be an object with a string event_id");
                }

                parsed.Add(JsonNode.Parse(e.GetRawText())!.AsObject());
            }

            var added = store.AddEvents(parsed);
            return Results.Json(new { accepted = parsed.Count, duplicates = parsed.Count - added });
        }
    }

    private static IResult Get(HttpContext context, EmulatorStore store)
    {
        if (ApiAuth.Check(context, store, "events:read") is { } denied)
        {
            return denied;
        }

        var query = context.Request.Query;
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            return ApiAuth.Error(400, "invalid_limit", $"limit must be a whole number from 1 to {MaxLimit}");
        }

        DateTimeOffset? since = null;
        if (query.TryGetValue("since", out var sinceText) && !string.IsNullOrEmpty(sinceText))
        {
            if (!TryParseSince(sinceText!, store.Time.GetUtcNow(), out var s))
            {
                return ApiAuth.Error(400, "invalid_since", "since must be a duration (30s, 5m, 1h, 2d) or an RFC 3339 time");
            }

            since = s;
        }

        long after = 0;
        if (query.TryGetValue("cursor", out var cursorText)
            && !long.TryParse(cursorText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return ApiAuth.Error(400, "invalid_cursor", "cursor must be a next_cursor from an earlier answer");
        }

        var gatewayName = query.TryGetValue("gateway_name", out var g) && !string.IsNullOrEmpty(g) ? g.ToString() : null;
        var found = store.Query(after, since, gatewayName, limit, out var last);
        var next = found.Count == limit ? found[^1].Sequence : last;
        var list = new JsonArray();
        foreach (var e in found)
        {
            var copy = e.Json.DeepClone().AsObject();
            copy["received_at"] = e.ReceivedAt.ToString("O", CultureInfo.InvariantCulture);
            list.Add(copy);
        }

        return Results.Json(new JsonObject
        {
            ["events"] = list,
            ["next_cursor"] = next.ToString(CultureInfo.InvariantCulture),
        });
    }

    /// <summary>A duration back from now (<c>30s</c>, <c>5m</c>, <c>1h</c>, <c>2d</c>) or an RFC 3339 time.</summary>
    internal static bool TryParseSince(string text, DateTimeOffset now, out DateTimeOffset since)
    {
        since = default;
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            TimeSpan? span = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (span is { } d)
            {
                since = now - d;
                return true;
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out since) && text.Contains('T', StringComparison.Ordinal);
    }
}
