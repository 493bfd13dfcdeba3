using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Keeptrusts.Providers.Json;

/// <summary>
/// Sets the top-level <c>model</c> of a JSON object and leaves every other byte as it was, so fields this
/// version does not know pass through unchanged.
/// </summary>
internal static class ModelRewriter
{
    /// <summary>Returns <paramref name="body"/> with each top-level <c>model</c> value replaced (or one inserted first when absent).</summary>
    /// <exception cref="JsonException">The body is not a single well-formed JSON object.</exception>
    public static byte[] Rewrite(ReadOnlySpan<byte> body, string model)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The request body is not a JSON object.");
        }

        var objectStart = (int)reader.TokenStartIndex;
        var hasProperties = false;
        var replacements = new List<(int Start, int End)>(1);
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            hasProperties = true;
            var isModel = reader.ValueTextEquals("model"u8);
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            if (isModel)
            {
                replacements.Add((start, (int)reader.BytesConsumed));
            }
        }

        var encoded = Encode(model);
        if (replacements.Count == 0)
        {
            var insert = Concat("\"model\":"u8, encoded, hasProperties ? ","u8 : default);
            var output = new byte[body.Length + insert.Length];
            body[..(objectStart + 1)].CopyTo(output);
            insert.CopyTo(output.AsSpan(objectStart + 1));
            body[(objectStart + 1)..].CopyTo(output.AsSpan(objectStart + 1 + insert.Length));
            return output;
        }

        var length = body.Length;
        foreach (var (start, end) in replacements)
        {
            length += encoded.Length - (end - start);
        }

        var result = new byte[length];
        int read = 0, written = 0;
        foreach (var (start, end) in replacements)
        {
            body[read..start].CopyTo(result.AsSpan(written));
            written += start - read;
            encoded.CopyTo(result.AsSpan(written));
            written += encoded.Length;
            read = end;
        }

        body[read..].CopyTo(result.AsSpan(written));
        return result;
    }

    private static byte[] Encode(string value)
    {
        var escaped = JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(value);
        return Encoding.UTF8.GetBytes("\"" + escaped + "\"");
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c)
    {
        var result = new byte[a.Length + b.Length + c.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        c.CopyTo(result.AsSpan(a.Length + b.Length));
        return result;
    }
}
