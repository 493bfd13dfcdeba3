using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Policy.Tests.Routing;

/// <summary>Every configuration in <c>docs/routing.md</c> lints clean and builds a router.</summary>
public partial class RoutingDocumentationTests
{
    public static TheoryData<int, string> Examples()
    {
        var data = new TheoryData<int, string>();
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "routing.md")).ReplaceLineEndings("\n");
        var blocks = YamlBlock().Matches(text);
        for (var i = 0; i < blocks.Count; i++)
        {
            data.Add(i, blocks[i].Groups["yaml"].Value);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Every_yaml_example_lints_clean_and_builds_a_router(int index, string yaml)
    {
        var result = PolicyConfigLoader.Parse(yaml, $"docs/routing.md#{index}");

        Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics));
        await using var router = ProviderRouter.Create(result.Config!.Providers, new TestProviderClientFactory(), new ProviderRouterOptions { EnableHealthChecks = false });
        Assert.True(router.Plan(result.Config.Providers.Targets[0].Model ?? result.Config.Providers.Targets[0].Models[0].Id).IsValid);
    }

    [Fact]
    public void There_is_an_example_per_strategy()
    {
        var yaml = string.Join("\n", Examples().Select(static row => (string)row[1]));
        foreach (var strategy in new[] { "ordered", "round_robin", "weighted", "least_latency", "cost" })
        {
            Assert.Contains("strategy: " + strategy, yaml, StringComparison.Ordinal);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Keeptrusts.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Keeptrusts.Sdk.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("^```yaml\n(?<yaml>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
