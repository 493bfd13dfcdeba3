using System.Diagnostics;
using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Configuration;

public class PolicyConfigLoaderTests
{
    private const string Pack = "pack:\n  name: t\n  version: 1.0.0\n";

    [Fact]
    public void A_missing_file_is_reported_by_name()
    {
        var result = PolicyConfigLoader.LoadFiles(["/nonexistent/policy-config.yaml"]);

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal("KT0001", finding.Code);
        Assert.Equal("/nonexistent/policy-config.yaml", finding.Location.File);
        Assert.Null(result.Config);
    }

    [Fact]
    public void A_directory_is_not_a_configuration_file()
    {
        using var dir = new TestFiles.TempDirectory();

        var finding = Assert.Single(PolicyConfigLoader.LoadFiles([dir.Path]).Diagnostics);

        Assert.Equal("KT0001", finding.Code);
        Assert.Contains("directory", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_binary_file_is_rejected_with_its_position()
    {
        using var dir = new TestFiles.TempDirectory();
        var file = dir.Write("bin.yaml", [(byte)'a', (byte)':', (byte)'\n', 0x7F, 0x45, 0x4C, 0x46, 0, 1, 2]);

        var finding = Assert.Single(PolicyConfigLoader.LoadFiles([file]).Diagnostics);

        Assert.Equal("KT0002", finding.Code);
        Assert.Equal(2, finding.Location.Line);
    }

    [Fact]
    public void Invalid_utf8_is_rejected_with_its_position()
    {
        using var dir = new TestFiles.TempDirectory();
        var bytes = Encoding.UTF8.GetBytes(Pack + "description: caf").Concat(new byte[] { 0xC3, 0x28, (byte)'\n' }).ToArray();
        var file = dir.Write("latin.yaml", bytes);

        var finding = Assert.Single(PolicyConfigLoader.LoadFiles([file]).Diagnostics);

        Assert.Equal("KT0002", finding.Code);
        Assert.Equal(4, finding.Location.Line);
    }

    [Fact]
    public void A_utf8_byte_order_mark_is_accepted()
    {
        using var dir = new TestFiles.TempDirectory();
        var file = dir.Write("bom.yaml", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Pack)).ToArray());

        var result = PolicyConfigLoader.LoadFiles([file]);

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void A_50_MB_file_is_refused_without_being_parsed()
    {
        using var dir = new TestFiles.TempDirectory();
        var file = Path.Combine(dir.Path, "huge.yaml");
        using (var stream = File.Create(file))
        {
            stream.SetLength(50L * 1024 * 1024);
        }

        var finding = Assert.Single(PolicyConfigLoader.LoadFiles([file]).Diagnostics);

        Assert.Equal("KT0003", finding.Code);
        Assert.Contains("50 MiB", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Layered_files_merge_and_findings_point_at_the_file_that_set_the_value()
    {
        using var dir = new TestFiles.TempDirectory();
        var baseFile = dir.Write("base.yaml", Pack + "providers:\n  targets:\n    - id: openai-primary\n      provider: openai\n      model: gpt-4o\n  fallback:\n    max_fallback_attempts: 2\n");
        var prodFile = dir.Write("prod.yaml", "providers:\n  targets:\n    - id: OpenAI-Primary\n      model: gpt-4o-mini\n    - id: backup\n      provider: echo\n  fallback:\n    max_fallback_attempts: 42\n");

        var result = PolicyConfigLoader.LoadFiles([baseFile, prodFile]);

        var finding = Assert.Single(result.Diagnostics);
        Assert.Equal("KT2303", finding.Code);
        Assert.Equal(prodFile, finding.Location.File);
        Assert.Equal(8, finding.Location.Line);
    }

    [Fact]
    public void An_unreadable_layer_does_not_hide_the_other_layers_findings()
    {
        using var dir = new TestFiles.TempDirectory();
        var broken = dir.Write("base.yaml", Pack + "policies:\n  chain: [a, b\n");
        var binary = dir.Write("overlay.yaml", new byte[] { 1, 0, 2 });

        var result = PolicyConfigLoader.LoadFiles([broken, "/nonexistent.yaml", binary]);

        Assert.Equal(["KT1001", "KT0001", "KT0002"], result.Diagnostics.Select(d => d.Code));
        Assert.Null(result.Config);
    }

    [Fact]
    public void The_size_limit_counts_utf8_bytes()
    {
        var text = Pack + "description: \"" + new string('\u00e9', (int)(PolicyConfigLoader.MaxFileBytes / 2) + 10) + "\"\n";

        var finding = Assert.Single(PolicyConfigLoader.Parse(text, "wide.yaml").Diagnostics);

        Assert.Equal("KT0003", finding.Code);
    }

    [Fact]
    public void Layered_targets_merge_by_id_case_insensitively()
    {
        var result = PolicyConfigLoader.Parse(
        [
            new PolicyConfigSource("base.yaml", Pack + "providers:\n  targets:\n    - id: openai-primary\n      provider: openai\n      model: gpt-4o\n"),
            new PolicyConfigSource("prod.yaml", "providers:\n  targets:\n    - id: OpenAI-Primary\n      model: gpt-4o-mini\n    - id: backup\n      provider: echo\n"),
        ]);

        var targets = result.Config!.Providers.Targets;
        Assert.Equal(2, targets.Count);
        Assert.Equal("openai", targets[0].Provider);
        Assert.Equal("gpt-4o-mini", targets[0].Model);
        Assert.Equal("backup", targets[1].Id);
    }

    [Fact]
    public void A_later_chain_replaces_the_earlier_one()
    {
        var result = PolicyConfigLoader.Parse(
        [
            new PolicyConfigSource("a.yaml", Pack + "policies:\n  chain: [pii-detector, audit-logger]\n"),
            new PolicyConfigSource("b.yaml", "policies:\n  chain: [prompt-injection]\n"),
        ]);

        Assert.Equal(["prompt-injection"], result.Config!.Policies.Chain);
    }

    [Fact]
    public void Defaults_apply_when_sections_are_absent()
    {
        var config = PolicyConfigLoader.Parse(Pack).Config!;

        Assert.True(config.Pack!.Enabled);
        Assert.Empty(config.Policies.Chain);
        Assert.Equal(RoutingStrategy.Ordered, config.Providers.Routing.Strategy);
        Assert.Equal(2, config.Providers.Fallback.MaxFallbackAttempts);
        Assert.Equal(IdentityMode.HeaderSoft, config.RuntimeIdentity.Mode);
        Assert.Null(config.DistributedRateLimit);
        Assert.True(config.Providers.CircuitBreaker.Enabled);
        Assert.False(config.Providers.HealthCheck.Enabled);
    }

    [Fact]
    public void Nested_model_pricing_is_exact_decimal()
    {
        var config = PolicyConfigLoader.Parse(Pack + "providers:\n  targets:\n    - id: o\n      provider: openai\n      models:\n        - id: gpt-4o\n          pricing: {input_usd_per_million: 2.50, output_usd_per_million: 10}\n        - id: gpt-4o-mini\n          pricing: {input_usd_per_million: 0.15, output_usd_per_million: 0.60, cached_input_usd_per_million: 0.075}\n").Config!;

        var mini = config.Providers.Targets[0].Models[1];
        Assert.Equal(0.15m, mini.Pricing!.InputUsdPerMillion);
        Assert.Equal(0.075m, mini.Pricing.CachedInputUsdPerMillion);
    }

    [Fact]
    public void Anchors_and_merge_keys_are_resolved()
    {
        var yaml = Pack + "x-defaults: &defaults\n  provider: openai\n  base_url: https://api.openai.com\nproviders:\n  targets:\n    - <<: *defaults\n      id: a\n      model: gpt-4o\n";

        var result = PolicyConfigLoader.Parse(yaml);

        var target = result.Config!.Providers.Targets[0];
        Assert.Equal("openai", target.Provider);
        Assert.Equal("https://api.openai.com", target.BaseUrl);
        Assert.Equal("KT1102", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Quoted_scalars_stay_strings()
    {
        var config = PolicyConfigLoader.Parse("pack:\n  name: t\n  version: \"1.0.0\"\n  description: \"true\"\n").Config!;

        Assert.Equal("true", config.Pack!.Description);
    }

    [Theory]
    [InlineData("enabled: yes", "KT1103")]
    [InlineData("enabled: \"true\"", "KT1103")]
    [InlineData("enabled: [true]", "KT1103")]
    public void Booleans_are_yaml_1_2_booleans(string line, string code)
    {
        var result = PolicyConfigLoader.Parse(Pack + "  " + line + "\n");

        Assert.Equal(code, Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Policy_settings_keep_the_raw_block_and_the_mode()
    {
        var config = PolicyConfigLoader.Parse(Pack + "policies:\n  chain: [pii-detector]\npolicy:\n  PII-Detector:\n    mode: monitor\n    action: redact\n").Config!;

        var settings = config.Policy["pii-detector"];
        Assert.Equal(PolicyMode.Monitor, settings.Mode);
        Assert.True(settings.Settings.TryGetValue("action", out var action));
        Assert.Equal("redact", ((ConfigScalar)action).Value);
        Assert.Equal(8, settings.Settings.Location.Line);
    }

    [Fact]
    public void A_null_policy_block_means_default_settings()
    {
        var config = PolicyConfigLoader.Parse(Pack + "policies:\n  chain: [audit-logger]\npolicy:\n  audit-logger:\n").Config!;

        Assert.Equal(PolicyMode.Enforce, config.Policy["audit-logger"].Mode);
    }

    [Fact]
    public void Nothing_given_is_an_error_not_an_exception()
    {
        var result = PolicyConfigLoader.Parse([]);

        Assert.Equal("KT1002", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Arbitrary_text_never_throws()
    {
        var gen = FsCheck.Fluent.Gen.Select(
            FsCheck.Fluent.Gen.ArrayOf(FsCheck.Fluent.Gen.Elements('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>', '"', '\'', '#', '\t', '?', ',', '%', '@', '`', '\uD800', '\0')),
            chars => new string(chars));

        Properties.ForAll(gen, text =>
        {
            var result = PolicyConfigLoader.Parse(text, "fuzz.yaml");
            Assert.True(result.Config is not null || result.HasErrors);
        }, maxTest: 5000);
    }
}
