using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Configuration;

public class SeedExamplesTests
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in TestFiles.SeedExamples())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_documented_example_lints_without_errors(string name)
    {
        var result = PolicyConfigLoader.LoadFiles([Path.Combine(TestFiles.DataDirectory, "seeds", name)]);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void The_examples_are_all_there()
    {
        Assert.True(TestFiles.SeedExamples().Count() >= 12);
    }

    [Fact]
    public void Multi_provider_example_binds_every_field()
    {
        var config = PolicyConfigLoader.LoadFiles([Path.Combine(TestFiles.DataDirectory, "seeds", "gateway-run-multi-provider.yaml")]).Config!;

        Assert.Equal("multi-provider", config.Pack!.Name);
        Assert.Equal("0.1.0", config.Pack.Version);
        Assert.Equal(["prompt-injection", "pii-detector"], config.Policies.Chain);
        Assert.Equal(2, config.Providers.Targets.Count);
        var fallback = config.Providers.Targets[1];
        Assert.Equal("anthropic-fallback", fallback.Id);
        Assert.Equal("anthropic", fallback.Format);
        Assert.Equal("ANTHROPIC_API_KEY", fallback.SecretKeyRef!.Env);
        Assert.Equal([FallbackTrigger.RateLimit, FallbackTrigger.ServerError, FallbackTrigger.Timeout], config.Providers.Fallback.Triggers);
        Assert.Equal(3, config.Providers.Fallback.MaxFallbackAttempts);
        Assert.Equal(RoutingStrategy.Ordered, config.Providers.Routing.Strategy);
    }
}
