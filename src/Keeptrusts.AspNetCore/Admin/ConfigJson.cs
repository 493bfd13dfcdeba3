using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;

namespace Keeptrusts.AspNetCore.Admin;

/// <summary>
/// The effective configuration as JSON (defaults included, snake_case keys as in the YAML), for the revision id and
/// for <c>GET /keeptrusts/config</c>. The admin view masks secrets: values under secret-like keys, gateway key
/// hashes, and any string shaped like a credential. <c>secret_key_ref</c> only ever names where a credential lives,
/// so its <c>env</c> / <c>store</c> names stay visible.
/// </summary>
internal static partial class ConfigJson
{
    internal const string Mask = "***";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters =
        {
            new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower),
            new PolicySettingsConverter(),
            new ConfigNodeConverter(),
        },
    };

    private static readonly string[] SecretKeyWords =
        ["api_key", "apikey", "token", "secret", "password", "passwd", "authorization", "private_key", "credential", "bearer", "cookie"];

    /// <summary>The configuration as a JSON tree, unmasked.</summary>
    public static JsonObject ToNode(PolicyConfig config) =>
        (JsonObject)JsonSerializer.SerializeToNode(config, Options)!;

    /// <summary>The revision id: a digest of the effective configuration and of the gateway keys it knows.</summary>
    public static string Revision(PolicyConfig config, string keysFingerprint)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(ToNode(config));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(bytes);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes(keysFingerprint));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>The configuration for the admin API: secrets masked.</summary>
    public static JsonObject ToMaskedNode(PolicyConfig config)
    {
        var node = ToNode(config);
        MaskTree(node, key: null, underSecretRef: false);
        return node;
    }

    /// <summary>Masks in place; returns the replacement for a string node that must be masked, else null.</summary>
    private static void MaskTree(JsonNode? node, string? key, bool underSecretRef)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToArray())
                {
                    if (child is JsonValue value && value.TryGetValue<string>(out var text) && ShouldMask(name, text, underSecretRef || string.Equals(key, "secret_key_ref", StringComparison.Ordinal)))
                    {
                        obj[name] = string.Equals(name, "sha256", StringComparison.Ordinal) && text.Length > 8 ? text[..8] + "…" : Mask;
                    }
                    else
                    {
                        MaskTree(child, name, underSecretRef || string.Equals(name, "secret_key_ref", StringComparison.Ordinal));
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue value && value.TryGetValue<string>(out var text) && ShouldMask(key ?? string.Empty, text, underSecretRef))
                    {
                        array[i] = Mask;
                    }
                    else
                    {
                        MaskTree(array[i], key, underSecretRef);
                    }
                }

                break;
        }
    }

    private static bool ShouldMask(string key, string value, bool underSecretRef)
    {
        if (underSecretRef)
        {
            // env / store name a variable; a value shaped like a credential was put there by mistake.
            return LooksLikeCredential(value);
        }

        if (string.Equals(key, "sha256", StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var word in SecretKeyWords)
        {
            if (key.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return LooksLikeCredential(value);
    }

    /// <summary>Known credential prefixes, bearer values, and long unbroken tokens mixing letters and digits.</summary>
    internal static bool LooksLikeCredential(string value)
    {
        if (KnownPrefix().IsMatch(value))
        {
            return true;
        }

        var token = value.AsSpan().Trim();
        if (token.Length < 32 || token.ContainsAny(" /:.@") || token.ContainsAny("\t\n\r"))
        {
            return false;
        }

        var letters = false;
        var digits = false;
        foreach (var c in token)
        {
            if (char.IsAsciiLetter(c))
            {
                letters = true;
            }
            else if (char.IsAsciiDigit(c))
            {
                digits = true;
            }
            else if (c is not ('-' or '_' or '+' or '='))
            {
                return false;
            }
        }

        return letters && digits;
    }

    [GeneratedRegex(@"(^|\s)(sk-|sk_|rk_|pk_live|kt_gk_|kt_gw_|ghp_|gho_|github_pat_|xox[abposr]-|AKIA|ASIA|AIza|Bearer\s)|-----BEGIN", RegexOptions.CultureInvariant)]
    private static partial Regex KnownPrefix();

    /// <summary>A policy's settings block as written (mode included when written).</summary>
    private sealed class PolicySettingsConverter : JsonConverter<PolicySettings>
    {
        public override PolicySettings Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, PolicySettings value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            if (value.Settings.IndexOf("mode") < 0)
            {
                writer.WriteString("mode", JsonNamingPolicy.SnakeCaseLower.ConvertName(value.Mode.ToString()));
            }

            foreach (var entry in value.Settings.Entries)
            {
                writer.WritePropertyName(entry.Key.Value ?? string.Empty);
                entry.Value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }
    }

    /// <summary>A YAML node tree as JSON; scalars keep their YAML meaning (numbers, booleans, null).</summary>
    private sealed class ConfigNodeConverter : JsonConverter<ConfigNode>
    {
        public override bool CanConvert(Type typeToConvert) => typeof(ConfigNode).IsAssignableFrom(typeToConvert);

        public override ConfigNode Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, ConfigNode value, JsonSerializerOptions options) => value.WriteTo(writer);
    }
}
