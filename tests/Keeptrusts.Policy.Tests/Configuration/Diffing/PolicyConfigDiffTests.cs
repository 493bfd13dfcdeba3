using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Tests.Configuration.Diffing;

public class PolicyConfigDiffTests
{
    private const string Base = """
        pack: {name: t, version: 1.0.0}
        policies:
          chain: [pii-detector, audit-logger]
        policy:
          pii-detector: {action: redact}
        providers:
          targets:
            - {id: openai-primary, provider: openai, model: gpt-4o}
            - {id: backup, provider: echo}
        """;

    private static PolicyConfig Load(string yaml) => PolicyConfigLoader.Parse(yaml).Config ?? throw new InvalidOperationException("invalid test config");

    [Fact]
    public void Identical_configurations_have_no_changes()
    {
        Assert.Empty(PolicyConfigDiff.Compare(Load(Base), Load(Base)));
    }

    [Fact]
    public void Target_ids_are_matched_case_insensitively_and_order_does_not_matter()
    {
        var after = Base.Replace("{id: openai-primary, provider: openai, model: gpt-4o}\n    - {id: backup, provider: echo}", "{id: BACKUP, provider: echo}\n    - {id: OpenAI-Primary, provider: openai, model: gpt-4o}", StringComparison.Ordinal);

        Assert.Empty(PolicyConfigDiff.Compare(Load(Base), Load(after)));
    }

    [Fact]
    public void Changes_name_what_was_added_removed_and_modified()
    {
        var after = Base
            .Replace("model: gpt-4o}", "model: gpt-4o-mini}", StringComparison.Ordinal)
            .Replace("    - {id: backup, provider: echo}", "    - {id: canary, provider: echo}", StringComparison.Ordinal)
            .Replace("{action: redact}", "{action: block}", StringComparison.Ordinal)
            .Replace("chain: [pii-detector, audit-logger]", "chain: [pii-detector]", StringComparison.Ordinal);

        var changes = PolicyConfigDiff.Compare(Load(Base), Load(after)).Select(c => c.ToString()).ToList();

        Assert.Equal(
            ["~ policies.chain", "~ policy.pii-detector", "~ providers.targets[openai-primary].model", "- providers.targets[backup]", "+ providers.targets[canary]"],
            changes);
    }

    [Fact]
    public void A_new_section_is_an_addition()
    {
        var after = Base + "\ndistributed_rate_limit: {backend: valkey, url_env: KEEPTRUSTS_REDIS_URL}\n";

        var change = Assert.Single(PolicyConfigDiff.Compare(Load(Base), Load(after)));

        Assert.Equal(new PolicyConfigChange(PolicyConfigChangeKind.Added, "distributed_rate_limit"), change);
    }
}
