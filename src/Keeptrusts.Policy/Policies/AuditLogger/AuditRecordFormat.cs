using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.AuditLogger;

/// <summary>
/// The JSON Lines shape of a decision record. Members are always written, in this order, with <c>null</c> for
/// what is unknown, so every line of every file has the same shape. Only the record's own fields are written: a
/// record carries verdicts, reasons, finding types and offsets, never the texts that were evaluated.
/// </summary>
internal static class AuditRecordFormat
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>
    /// Writes one record as a line without its terminator. With a chain, the object is left open after
    /// <c>prev_hash</c> and sealed with <c>hash</c> (see <see cref="AuditChain"/>).
    /// </summary>
    public static void Write(ArrayBufferWriter<byte> line, DecisionRecord record, string? prevHash, string? prevFileHash)
    {
        using (var json = new Utf8JsonWriter(line, WriterOptions))
        {
            json.WriteStartObject();
            WriteNullable(json, "id", record.Id);
            json.WriteString("timestamp", record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            WriteNullable(json, "pack", record.PackName);
            WriteNullable(json, "pack_version", record.PackVersion);
            json.WriteString("phase", Name(record.Phase));
            json.WriteString("decision", Name(record.Decision));
            WriteNullable(json, "blocked_by", record.BlockedBy);
            WriteNullable(json, "reason", record.Reason);
            WriteNullable(json, "status", record.Status);
            WriteNullable(json, "code", record.Code);
            WriteNullable(json, "user_id", record.UserId);
            json.WriteString("identity_proof_method", Name(record.IdentityProofMethod));
            WriteNullable(json, "conversation_id", record.ConversationId);
            if (record.Duplicate)
            {
                // Written only when set, so records of gateways without de-duplication keep their shape.
                json.WriteBoolean("duplicate", true);
            }

            WriteNullable(json, "request_id", record.RequestId);
            WriteNullable(json, "model", record.Model);
            WriteNullable(json, "target_id", record.TargetId);
            if (record.ToolName is { } tool)
            {
                // Only tool decisions carry it, so the lines of every other record keep their shape.
                json.WriteString("tool_name", tool);
            }

            json.WriteString("fail_mode", record.FailMode == FailMode.Allow ? "allow" : "block");
            json.WriteNumber("elapsed_ms", Milliseconds(record.Elapsed));
            json.WriteStartArray("policies");
            foreach (var outcome in record.Policies)
            {
                json.WriteStartObject();
                WriteNullable(json, "policy", outcome.Policy);
                json.WriteString("decision", Name(outcome.Decision));
                json.WriteBoolean("enforced", outcome.Enforced);
                WriteNullable(json, "reason", outcome.Reason);
                WriteNullable(json, "error", outcome.Error);
                json.WriteNumber("elapsed_ms", Milliseconds(outcome.Elapsed));
                json.WriteStartArray("findings");
                foreach (var finding in outcome.Findings)
                {
                    json.WriteStartObject();
                    WriteNullable(json, "type", finding.Type);
                    WriteNullable(json, "text", finding.Text);
                    WriteNullable(json, "start", finding.Start);
                    WriteNullable(json, "end", finding.End);
                    if (finding.Score is { } score && double.IsFinite(score))
                    {
                        json.WriteNumber("score", score);
                    }
                    else
                    {
                        json.WriteNull("score");
                    }

                    WriteNullable(json, "detail", finding.Detail);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (prevHash is null)
            {
                json.WriteEndObject();
                return;
            }

            if (prevFileHash is not null)
            {
                json.WriteString(AuditChain.PrevFileHashKey, prevFileHash);
            }

            json.WriteString(AuditChain.PrevHashKey, prevHash);

            // Left open on purpose: the hash covers the object as it reads without its hash member.
        }

        AuditChain.Seal(line);
    }

    public static string Name(PolicyPhase phase) => phase == PolicyPhase.Output ? "output" : "input";

    public static string Name(PolicyDecision decision) => decision switch
    {
        PolicyDecision.Flag => "flag",
        PolicyDecision.Redact => "redact",
        PolicyDecision.Block => "block",
        _ => "allow",
    };

    public static string Name(IdentityProofMethod method) => method switch
    {
        IdentityProofMethod.HeaderSoft => "header_soft",
        IdentityProofMethod.GatewayKey => "gateway_key",
        IdentityProofMethod.SignedAssertion => "signed_assertion",
        IdentityProofMethod.InProcess => "in_process",
        _ => "none",
    };

    private static double Milliseconds(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 3);

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, WellFormed(value));
        }
    }

    /// <summary>Replaces lone surrogates (from a header, say), which the JSON writer refuses, so a record is never lost to one.</summary>
    internal static string WellFormed(string value)
    {
        var span = value.AsSpan();
        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return value;
        }

        return string.Create(value.Length, value, static (destination, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
                {
                    destination[i] = c;
                    destination[i + 1] = source[i + 1];
                    i++;
                }
                else
                {
                    destination[i] = char.IsSurrogate(c) ? '\uFFFD' : c;
                }
            }
        });
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
