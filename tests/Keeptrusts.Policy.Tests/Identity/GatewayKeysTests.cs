using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Identity;

namespace Keeptrusts.Policy.Tests.Identity;

public sealed class GatewayKeysTests
{
    [Fact]
    public void A_key_hashes_to_the_lowercase_hex_sha256_of_its_utf8_bytes()
    {
        // sha256("kt_gk_test"), computed independently.
        Assert.Equal("8055bd3ab850e46fccfba5169e68b580a40bfb772ecf75f7c93299cae56c6bb1", GatewayKeys.Hash("kt_gk_test"));
    }

    [Theory]
    [InlineData("kt_gk_abc123", true)]
    [InlineData("kt_gk_", false)]
    [InlineData("sk-abc", false)]
    [InlineData("kt_gk_with space", false)]
    [InlineData("kt_gk_\u00e9", false)]
    public void Gateway_keys_are_recognised_by_prefix_and_printable_ascii(string token, bool expected) =>
        Assert.Equal(expected, GatewayKeys.IsGatewayKey(token));

    [Fact]
    public async Task The_local_resolver_finds_keys_from_the_configuration_and_the_keys_file()
    {
        using var directory = new TempDirectory();
        directory.Write("keys.yaml", $"- id: from-file\n  sha256: {GatewayKeys.Hash("kt_gk_file")}\n  owner: bob\n  scopes: [admin]\n");
        var config = directory.Load($"pack: {{ name: p, version: 0.1.0 }}\nruntime_identity:\n  mode: gateway_key\n  gateway_keys_file: keys.yaml\n  gateway_keys:\n    - id: inline\n      sha256: {GatewayKeys.Hash("kt_gk_inline")}\n      owner: alice\n");

        var result = GatewayKeys.LoadLocal(config);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(2, result.KeyCount);
        Assert.Equal("alice", (await result.Resolver!.FindAsync(GatewayKeys.Hash("kt_gk_inline"), default))?.Owner);
        var fromFile = await result.Resolver.FindAsync(GatewayKeys.Hash("kt_gk_file"), default);
        Assert.Equal(["admin"], fromFile?.Scopes);
        Assert.Null(await result.Resolver.FindAsync(GatewayKeys.Hash("kt_gk_other"), default));
        Assert.Null(await result.Resolver.FindAsync("not-a-hash", default));
    }

    [Fact]
    public void Problems_in_the_keys_file_are_reported_with_their_position()
    {
        using var directory = new TempDirectory();
        var hash = GatewayKeys.Hash("kt_gk_dup");
        directory.Write("keys.json", $$"""
            {"gateway_keys": [
              {"id": "a", "sha256": "{{hash}}"},
              {"id": "b", "sha256": "kt_gk_plaintext_is_not_a_hash"},
              {"id": "a", "sha256": "{{hash}}"},
              {"sha256": "{{GatewayKeys.Hash("x")}}"}
            ]}
            """);
        var config = directory.Load("pack: { name: p, version: 0.1.0 }\nruntime_identity:\n  gateway_keys_file: keys.json\n");

        var result = GatewayKeys.LoadLocal(config);

        Assert.Null(result.Resolver);
        var file = Path.Combine(directory.Path, "keys.json");
        Assert.Contains(result.Diagnostics, d => d.Path == "gateway_keys[1].sha256" && d.Location.File == file && d.Location.Line == 3);
        Assert.Contains(result.Diagnostics, d => d.Path == "gateway_keys[2].sha256" && d.Location.Line == 4);
        Assert.Contains(result.Diagnostics, d => d.Path == "gateway_keys[2].id");
        Assert.Contains(result.Diagnostics, d => d.Code == "KT1104" && d.Location.Line == 5);
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains("kt_gk_plaintext", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("missing.yaml", "KT0001")]
    [InlineData("binary.yaml", "KT0002")]
    [InlineData("scalar.yaml", "KT1003")]
    public void An_unusable_keys_file_is_an_error(string name, string code)
    {
        using var directory = new TempDirectory();
        directory.WriteBytes("binary.yaml", [0x69, 0x64, 0x00, 0x01]);
        directory.Write("scalar.yaml", "just text");
        var config = directory.Load($"pack: {{ name: p, version: 0.1.0 }}\nruntime_identity:\n  gateway_keys_file: {name}\n");

        var result = GatewayKeys.LoadLocal(config);

        Assert.Null(result.Resolver);
        Assert.Contains(result.Diagnostics, d => d.Code == code && d.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void The_fingerprint_changes_when_an_entry_changes()
    {
        static string Fingerprint(string owner) => GatewayKeys.LoadLocal(PolicyConfigLoader.Parse($"pack: {{ name: p, version: 0.1.0 }}\nruntime_identity:\n  gateway_keys:\n    - id: k\n      sha256: {GatewayKeys.Hash("kt_gk_k")}\n      owner: {owner}\n").Config!).Fingerprint;

        Assert.Equal(Fingerprint("alice"), Fingerprint("alice"));
        Assert.NotEqual(Fingerprint("alice"), Fingerprint("bob"));
    }

    private sealed class TempDirectory : IDisposable
    {
        public TempDirectory() => Path = Directory.CreateTempSubdirectory("kt-identity-").FullName;

        public string Path { get; }

        public void Write(string name, string text) => File.WriteAllText(System.IO.Path.Combine(Path, name), text);

        public void WriteBytes(string name, byte[] bytes) => File.WriteAllBytes(System.IO.Path.Combine(Path, name), bytes);

        /// <summary>Loads a configuration written in this directory, so relative paths resolve against it.</summary>
        public PolicyConfig Load(string yaml)
        {
            var file = System.IO.Path.Combine(Path, "policy-config.yaml");
            File.WriteAllText(file, yaml);
            var result = PolicyConfigLoader.LoadFiles([file]);
            Assert.False(result.HasErrors, string.Join('\n', result.Diagnostics));
            return result.Config!;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
