using Keeptrusts.AspNetCore.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Keeptrusts.AspNetCore.Tests.Runtime;

public sealed class StartupTests
{
    [Fact]
    public async Task Mapping_without_adding_the_services_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapKeeptrustsGateway());

        Assert.Contains("services.AddKeeptrustsGateway()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_stop_start_up_with_every_problem_at_once()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(o =>
        {
            o.MaxConcurrency = 0;
            o.MaxRequestBodyBytes = 0;
            o.AdminToken = "has space";
            o.WatchConfigFiles = true;
        }));

        Assert.Equal(5, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("ConfigFiles", StringComparison.Ordinal) && f.Contains("ConfigYaml", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxConcurrency", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxRequestBodyBytes", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("AdminToken", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("WatchConfigFiles", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configuration_with_errors_never_starts_and_lists_its_findings_with_positions()
    {
        var directory = Directory.CreateTempSubdirectory("kt-start-");
        var file = Path.Combine(directory.FullName, "policy-config.yaml");
        File.WriteAllText(file, "pack: { name: ok, version: 0.1.0 }\npolicies:\n  chain: [pii-detector, nope]\nproviders:\n  targets:\n    - id: hook\n      provider: webhook\n");
        try
        {
            var error = await Assert.ThrowsAsync<KeeptrustsGatewayConfigurationException>(() => StartAsync(o => o.ConfigFiles.Add(file)));

            Assert.Contains($"{file}:3:", error.Message, StringComparison.Ordinal);
            Assert.Contains($"{file}:7:", error.Message, StringComparison.Ordinal);
            Assert.Contains("hook", error.Message, StringComparison.Ordinal);
            Assert.Contains(error.Diagnostics, d => d.Code == "KT2202");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_target_that_cannot_be_served_stops_start_up_pointing_at_the_target()
    {
        const string yaml = "pack: { name: ok, version: 0.1.0 }\nproviders:\n  targets:\n    - id: ok\n      provider: openai\n    - id: bad\n      provider: openai\n      secret_key_ref: { env: KT_TEST_VARIABLE_THAT_IS_NEVER_SET }\n";

        var error = await Assert.ThrowsAsync<KeeptrustsGatewayConfigurationException>(() => StartAsync(o => o.ConfigYaml = yaml));

        var finding = Assert.Single(error.Diagnostics, d => d.Path == "providers.targets[1]");
        Assert.Equal(6, finding.Location.Line);
        Assert.Contains("KT_TEST_VARIABLE_THAT_IS_NEVER_SET", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_gateway_keys_file_stops_start_up()
    {
        const string yaml = "pack: { name: ok, version: 0.1.0 }\nruntime_identity:\n  mode: gateway_key\n  gateway_keys_file: /nonexistent/keys.yaml\n";

        var error = await Assert.ThrowsAsync<KeeptrustsGatewayConfigurationException>(() => StartAsync(o => o.ConfigYaml = yaml));

        Assert.Contains(error.Diagnostics, d => d.Code == "KT0001" && d.Location.File == "/nonexistent/keys.yaml");
    }

    [Fact]
    public async Task The_runtime_is_available_to_the_host_after_start()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        var runtime = gateway.Services.GetRequiredService<IKeeptrustsGatewayRuntime>();

        Assert.Equal(16, runtime.Current.Revision.Length);
        Assert.Equal("gateway-tests", runtime.Current.Config.Pack!.Name);
        Assert.Contains(gateway.Logs.Entries, e => e.Id.Id == 1 && e.Message.Contains(runtime.Current.Revision, StringComparison.Ordinal));
    }

    private static async Task StartAsync(Action<KeeptrustsGatewayOptions> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddKeeptrustsGateway(configure);
        await using var app = builder.Build();
        app.MapKeeptrustsGateway();
        await app.StartAsync(Patience.Token());
        await app.StopAsync(Patience.Token());
    }
}
