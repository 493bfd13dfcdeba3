using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;

namespace Keeptrusts.GatewayHost.Reporting;

/// <summary>The tenant a hosted-mode decision belongs to: the gateway key's id and team, never the key.</summary>
internal sealed record EventTenant(string KeyId, string? Team);

/// <summary>
/// The event shape of <c>POST /v1/events</c> (see docs/control-plane.md): one JSON object per decision record, written
/// once when the record is queued so that its <c>event_id</c> and content stay the same across retries and restarts.
/// Findings carry policy, type and offsets only — never the text, a score or a detail string.
/// </summary>
internal static class EventFormat
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    /// <summary>Writes one event as a single line (no line break inside, none at the end).</summary>
    public static void Write(IBufferWriter<byte> output, DecisionRecord record, EventTenant? tenant, string instanceId, string gatewayVersion)
    {
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();

        // A record without an id (never from the engine) still gets a stable one, made here once.
        json.WriteString("event_id", string.IsNullOrEmpty(record.Id) ? "evt_" + Guid.NewGuid().ToString("N") : record.Id);
        json.WriteString("timestamp", record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        String(json, "request_id", record.RequestId);
        json.WriteString("instance_id", record.InstanceId ?? instanceId);
        json.WriteString("gateway_version", gatewayVersion);
        String(json, "gateway_name", record.PackName);
        String(json, "pack_version", record.PackVersion);
        String(json, "config_revision", record.ConfigRevision);
        String(json, "key_id", tenant?.KeyId);
        String(json, "team", tenant?.Team);
        String(json, "user_id", record.UserId);
        json.WriteString("identity_proof_method", AuditRecordFormat.Name(record.IdentityProofMethod));
        json.WriteString("phase", AuditRecordFormat.Name(record.Phase));
        json.WriteString("decision", AuditRecordFormat.Name(record.Decision));
        String(json, "blocked_by", record.BlockedBy);
        String(json, "reason", record.Reason);
        Number(json, "status", record.Status);
        String(json, "code", record.Code);
        String(json, "model", record.Model);
        String(json, "target_id", record.TargetId);
        json.WriteNumber("elapsed_ms", Math.Round(record.Elapsed.TotalMilliseconds, 3));
        json.WriteStartArray("policies");
        foreach (var outcome in record.Policies)
        {
            json.WriteStartObject();
            json.WriteString("policy", AuditRecordFormat.WellFormed(outcome.Policy));
            json.WriteString("decision", AuditRecordFormat.Name(outcome.Decision));
            json.WriteBoolean("enforced", outcome.Enforced);
            json.WriteBoolean("failed", outcome.Error is not null);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("findings");
        foreach (var outcome in record.Policies)
        {
            foreach (var finding in outcome.Findings)
            {
                json.WriteStartObject();
                json.WriteString("policy", AuditRecordFormat.WellFormed(finding.Policy));
                json.WriteString("type", AuditRecordFormat.WellFormed(finding.Type));
                Number(json, "text", finding.Text);
                Number(json, "start", finding.Start);
                Number(json, "end", finding.End);
                json.WriteEndObject();
            }
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void String(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, AuditRecordFormat.WellFormed(value));
        }
    }

    private static void Number(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } n)
        {
            json.WriteNumber(name, n);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
