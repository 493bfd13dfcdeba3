using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Keeptrusts.Policy.SharedState;

/// <summary>
/// The fingerprint of a chat request: SHA-256 over the caller, the model and the normalised messages (role and text;
/// whitespace runs collapsed, trimmed, case-folded), so a resent or trivially reformatted request has the same one.
/// Parameters such as temperature, and message names or tool definitions, are not part of it.
/// </summary>
public static class RequestFingerprint
{
    private const int MaxDepth = 64;

    /// <summary>Computes the fingerprint of an OpenAI chat completion request body.</summary>
    /// <param name="caller">Who sent it (user id or gateway key id); requests of different callers never match.</param>
    /// <param name="body">The request body, UTF-8 JSON.</param>
    /// <returns>Lowercase hex SHA-256, or <see langword="null"/> when the body is not a JSON object with messages.</returns>
    public static string? Compute(string? caller, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, "caller", caller ?? string.Empty);
        try
        {
            using var document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            Append(hash, "model", root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString()! : string.Empty);
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                Append(hash, "role", message.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String ? role.GetString()! : string.Empty);
                var text = new StringBuilder();
                if (message.TryGetProperty("content", out var content))
                {
                    AppendText(text, content);
                }

                Append(hash, index.ToString(CultureInfo.InvariantCulture), Normalise(text.ToString()));
                index++;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AppendText(StringBuilder text, JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                text.Append(content.GetString()).Append(' ');
                break;
            case JsonValueKind.Array:
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.String)
                    {
                        text.Append(part.GetString()).Append(' ');
                    }
                    else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var partText) && partText.ValueKind == JsonValueKind.String)
                    {
                        text.Append(partText.GetString()).Append(' ');
                    }
                }

                break;
        }
    }

    /// <summary>Collapses whitespace runs to one space, trims, and folds case.</summary>
    internal static string Normalise(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    // Length-prefixed fields, so no two different field lists hash the same bytes.
    private static void Append(IncrementalHash hash, string name, string value)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(name.Length + value.Length) + 32);
        try
        {
            var written = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{name.Length}:{name}{value.Length}:"), bytes);
            written += Encoding.UTF8.GetBytes(value, bytes.AsSpan(written));
            hash.AppendData(bytes, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
