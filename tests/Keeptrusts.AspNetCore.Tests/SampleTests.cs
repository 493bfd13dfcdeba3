using System.Net;
using System.Text.Json;
using Keeptrusts.AspNetCore.Tests.Endpoints;
using Keeptrusts.AspNetCore.Tests.TestSupport;

namespace Keeptrusts.AspNetCore.Tests;

/// <summary>The sample app's configuration does what its README shows.</summary>
public sealed class SampleTests
{
    private static string SampleConfig(string sample = "aspnetcore-gateway")
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Keeptrusts.Sdk.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "samples", sample, "policy-config.yaml");
    }

    [Fact]
    public async Task The_sample_configuration_redacts_and_blocks_as_its_readme_shows()
    {
        await using var gateway = await TestGateway.StartAsync(string.Empty, o => o.ConfigFiles.Add(SampleConfig()));

        using var redacted = await ChatCompletionsTests.PostAsync(gateway, """{"model":"echo-1","messages":[{"role":"user","content":"Mail jane.doe@example.com the report"}]}""");
        using var blocked = await ChatCompletionsTests.PostAsync(gateway, """{"model":"echo-1","messages":[{"role":"user","content":"What is project falcon?"}]}""");

        Assert.Empty(gateway.Runtime.Current.Diagnostics);
        using var answer = JsonDocument.Parse(await redacted.Content.ReadAsStringAsync());
        Assert.Equal("Mail [REDACTED:EMAIL_ADDRESS] the report", answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Equal("content-filter", (await ChatCompletionsTests.ErrorAsync(blocked)).GetProperty("policy").GetString());
    }

    [Fact]
    public void The_mcp_sample_configuration_lints_clean_and_serves_its_target_over_the_bridge()
    {
        var result = Keeptrusts.Policy.Configuration.PolicyConfigLoader.LoadFiles([SampleConfig("mcp-gateway")]);

        Assert.Empty(result.Diagnostics);
        var target = Assert.Single(result.Config!.Providers.Targets);
        Assert.Equal(("docs-mcp", "mcp"), (target.Id, target.Provider));
        Assert.False(result.Config.Policy["tool-governance"] is null);
    }
}
