using System.Globalization;
using System.Text.Json;

namespace Keeptrusts.Policy.Configuration.Yaml;

/// <summary>
/// Writes a node tree as JSON, typing scalars the way YAML 1.2's core schema does (numbers, including the 0x and 0o
/// integer forms, booleans, null); everything else is a string. The one writer behind the schema check and the
/// admin view of the running configuration.
/// </summary>
internal static class ConfigNodeJson
{
    /// <summary>Writes <paramref name="node"/>; with <paramref name="omitNullEntries"/>, mapping entries whose value is null are left out.</summary>
    public static void Write(Utf8JsonWriter writer, ConfigNode node, bool omitNullEntries)
    {
        switch (node)
        {
            case ConfigMapping map:
                writer.WriteStartObject();
                foreach (var entry in map.Entries)
                {
                    if (omitNullEntries && entry.Value is ConfigScalar { IsNull: true })
                    {
                        continue;
                    }

                    writer.WritePropertyName(entry.Key.Value ?? string.Empty);
                    Write(writer, entry.Value, omitNullEntries);
                }

                writer.WriteEndObject();
                break;
            case ConfigSequence sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Items)
                {
                    Write(writer, item, omitNullEntries);
                }

                writer.WriteEndArray();
                break;
            case ConfigScalar scalar:
                WriteScalar(writer, scalar);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, ConfigScalar scalar)
    {
        switch (scalar.Kind)
        {
            case ScalarKind.Null:
                writer.WriteNullValue();
                break;
            case ScalarKind.Boolean:
                writer.WriteBooleanValue(string.Equals(scalar.Value, "true", StringComparison.OrdinalIgnoreCase));
                break;
            case ScalarKind.Integer when TryParseInteger(scalar.Value!, out var integer):
                writer.WriteNumberValue(integer);
                break;

            // decimal keeps the digits as written (0.10 stays 0.10); beyond its range, double.
            case ScalarKind.Integer or ScalarKind.Float when decimal.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number):
                writer.WriteNumberValue(number);
                break;
            case ScalarKind.Integer or ScalarKind.Float when double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real):
                writer.WriteNumberValue(real);
                break;
            default:
                writer.WriteStringValue(scalar.Value);
                break;
        }
    }

    // YAML 1.2 core integers include 0x and 0o forms, which the binder accepts; JSON readers must see them as numbers.
    private static bool TryParseInteger(string text, out long value)
    {
        if (text.StartsWith("0x", StringComparison.Ordinal))
        {
            return long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal))
        {
            try
            {
                value = Convert.ToInt64(text[2..], 8);
                return true;
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                value = 0;
                return false;
            }
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}
