using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Keeptrusts.ControlPlaneEmulator.Storage;

/// <summary>
/// The seed file: API tokens, config variables and gateway keys to start with. See <c>seed.yaml</c> beside the
/// project for an example. A gateway key is given raw (<c>key</c>, hashed on load) or as <c>key_sha256</c>.
/// </summary>
public sealed class EmulatorSeed
{
    /// <summary>API tokens and their permissions; none means every request is accepted.</summary>
    public List<SeedToken> Tokens { get; set; } = [];

    /// <summary>Config variables by name.</summary>
    public Dictionary<string, string> ConfigVariables { get; set; } = [];

    /// <summary>Gateway keys of hosted tenants.</summary>
    public List<SeedGatewayKey> GatewayKeys { get; set; } = [];

    /// <summary>Parses seed YAML; a malformed file throws <see cref="InvalidDataException"/> naming the file and line.</summary>
    public static EmulatorSeed Load(string yaml, string sourceName)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            return deserializer.Deserialize<EmulatorSeed?>(yaml) ?? new EmulatorSeed();
        }
        catch (YamlException ex)
        {
            throw new InvalidDataException($"{sourceName}:{ex.Start.Line}:{ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>Puts the seed's contents into a store.</summary>
    public void ApplyTo(EmulatorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var t in Tokens)
        {
            store.AddToken(t.Token, t.Permissions);
        }

        foreach (var (name, value) in ConfigVariables)
        {
            store.SetVariable(name, value);
        }

        foreach (var k in GatewayKeys)
        {
            store.SetGatewayKey(k.ToRecord());
        }
    }
}

/// <summary>A token in the seed file.</summary>
public sealed class SeedToken
{
    /// <summary>The bearer token.</summary>
    public string Token { get; set; } = "";

    /// <summary>Its permissions.</summary>
    public List<string> Permissions { get; set; } = [];
}

/// <summary>A gateway key in the seed file.</summary>
public sealed class SeedGatewayKey
{
    /// <summary>The raw key (<c>kt_gk_...</c>); hashed on load.</summary>
    public string? Key { get; set; }

    /// <summary>Or the key's SHA-256, lower-case hex.</summary>
    public string? KeySha256 { get; set; }

    /// <summary>The key's id.</summary>
    public string KeyId { get; set; } = "";

    /// <summary>Owner.</summary>
    public string? Owner { get; set; }

    /// <summary>Team.</summary>
    public string? Team { get; set; }

    /// <summary>Scopes.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Configuration version.</summary>
    public string ConfigVersion { get; set; } = "1";

    /// <summary>The tenant's policy-config.yaml.</summary>
    public string PolicyConfig { get; set; } = "";

    /// <summary>The tenant's variables.</summary>
    public Dictionary<string, string> Variables { get; set; } = [];

    /// <summary>The record the store keeps.</summary>
    public GatewayKeyRecord ToRecord() => new()
    {
        KeySha256 = KeySha256?.ToLowerInvariant() ?? GatewayKeyRecord.Hash(Key ?? throw new InvalidDataException($"gateway key '{KeyId}' has neither key nor key_sha256")),
        KeyId = KeyId,
        Owner = Owner,
        Team = Team,
        Scopes = Scopes,
        ConfigVersion = ConfigVersion,
        PolicyConfig = PolicyConfig,
        Variables = Variables,
    };
}
