using System.Text.Json;

namespace Keeptrusts.Policy.Exchange;

/// <summary>Reading steps every wire-format reader shares: each fails with a <see cref="JsonException"/> on truncated or misplaced JSON.</summary>
internal static class JsonTokens
{
    public static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("the JSON ends too early");
        }

        return reader.TokenType;
    }

    public static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException(message);
        }
    }

    public static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("unexpected data after the JSON object");
        }
    }

    /// <summary>Skips the value of the property the reader is on.</summary>
    public static void SkipPropertyValue(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        reader.Skip();
    }

    /// <summary>The next value if it is a string; anything else is skipped and gives null.</summary>
    public static string? ReadOptionalString(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    /// <summary>The next value as a non-negative count; anything else counts 0.</summary>
    public static long ReadCount(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0 ? value : 0;
    }
}
