using System.Net;
using System.Text;
using Keeptrusts.HttpHandler.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Keeptrusts.HttpHandler.Tests;

public class DependencyInjectionTests
{
    private static StringContent Chat(string text) =>
        new("{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}", Encoding.UTF8, "application/json");

    private static List<DelegatingHandler> Handlers(ServiceProvider services, string name)
    {
        var builder = new TestHandlerBuilder(services);
        foreach (var configure in services.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>().Get(name).HttpMessageHandlerBuilderActions)
        {
            configure(builder);
        }

        return [.. builder.AdditionalHandlers];
    }

    [Fact]
    public async Task The_handler_governs_a_named_client_built_from_yaml()
    {
        var provider = FakeProvider.OpenAIEcho();
        var services = new ServiceCollection();
        services.AddHttpClient("openai", c => c.BaseAddress = new Uri("http://provider.test/"))
            .AddKeeptrustsPolicy(o => o.ConfigYaml = Policies.Standard)
            .ConfigurePrimaryHttpMessageHandler(() => provider);
        await using var container = services.BuildServiceProvider();

        var client = container.GetRequiredService<IHttpClientFactory>().CreateClient("openai");
        using var blocked = await client.PostAsync("v1/chat/completions", Chat("forbidden"));
        using var allowed = await client.PostAsync("v1/chat/completions", Chat("hello"));

        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Single(provider.Received);
    }

    [Fact]
    public async Task Adding_it_twice_adds_one_handler_and_each_call_makes_a_new_handler_over_one_engine()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("openai")
            .AddKeeptrustsPolicy(o => o.Config = Policies.Config())
            .AddKeeptrustsPolicy(o => o.ThrowOnBlock = true);
        await using var container = services.BuildServiceProvider();

        var first = Handlers(container, "openai");
        var second = Handlers(container, "openai");

        var handler = Assert.Single(first.OfType<KeeptrustsPolicyHandler>());
        Assert.NotSame(handler, Assert.Single(second.OfType<KeeptrustsPolicyHandler>()));
        Assert.Same(container.GetRequiredService<KeeptrustsEngines>().Get("openai"), container.GetRequiredService<KeeptrustsEngines>().Get("openai"));

        // Both configure actions applied: the second made blocks throw.
        handler.InnerHandler = FakeProvider.OpenAIEcho();
        using var invoker = new HttpMessageInvoker(handler);
        await Assert.ThrowsAsync<KeeptrustsPolicyException>(() =>
            invoker.SendAsync(new HttpRequestMessage(HttpMethod.Post, "http://provider.test/v1/chat/completions") { Content = Chat("forbidden") }, CancellationToken.None));
    }

    [Fact]
    public async Task A_registered_engine_is_used_when_the_options_name_none()
    {
        var engine = Policies.Engine();
        var services = new ServiceCollection();
        services.AddSingleton(engine);
        services.AddHttpClient("c").AddKeeptrustsPolicy();
        await using var container = services.BuildServiceProvider();

        Assert.Same(engine, container.GetRequiredService<KeeptrustsEngines>().Get("c"));
    }

    [Fact]
    public async Task No_source_and_two_sources_are_clear_errors_naming_the_client()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("none").AddKeeptrustsPolicy();
        services.AddHttpClient("two").AddKeeptrustsPolicy(o => { o.ConfigYaml = Policies.Standard; o.Config = Policies.Config(); });
        services.AddHttpClient("broken").AddKeeptrustsPolicy(o => o.ConfigYaml = "policies:\n  chain: [no-such-policy]\n");
        await using var container = services.BuildServiceProvider();
        var engines = container.GetRequiredService<KeeptrustsEngines>();

        var none = Assert.Throws<OptionsValidationException>(() => engines.Get("none"));
        var two = Assert.Throws<OptionsValidationException>(() => engines.Get("two"));
        var broken = Assert.Throws<InvalidOperationException>(() => engines.Get("broken"));

        Assert.Contains("'none' has no source", none.Message, StringComparison.Ordinal);
        Assert.Contains("'two' has 2 sources (Config, ConfigYaml)", two.Message, StringComparison.Ordinal);
        Assert.Contains("'broken'", broken.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-policy", broken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_validation_reports_every_problem_of_every_client_at_once()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("good").AddKeeptrustsPolicy(o => o.ConfigYaml = Policies.Standard);
        services.AddHttpClient("bad").AddKeeptrustsPolicy(o =>
        {
            o.Config = Policies.Config();
            o.ConfigFiles.Add("/no/such/policy-config.yaml");
            o.MaxBodyBytes = 0;
        });
        await using var container = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => container.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal("bad", error.OptionsName);
        Assert.Equal(3, error.Failures.Count());
        Assert.Contains(error.Failures, static f => f.Contains("'bad' has 2 sources (Config, ConfigFiles)", StringComparison.Ordinal));
        Assert.Contains(error.Failures, static f => f.Contains("does not exist: /no/such/policy-config.yaml", StringComparison.Ordinal));
        Assert.Contains(error.Failures, static f => f.Contains("MaxBodyBytes 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_up_validation_passes_for_clients_with_one_source_or_a_registered_engine()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Policies.Engine());
        services.AddHttpClient("yaml").AddKeeptrustsPolicy(o => o.ConfigYaml = Policies.Standard);
        services.AddHttpClient("registered").AddKeeptrustsPolicy();
        await using var container = services.BuildServiceProvider();

        container.GetRequiredService<IStartupValidator>().Validate();

        Assert.NotNull(container.GetRequiredService<KeeptrustsEngines>().Get("registered"));
    }

    private sealed class TestHandlerBuilder(IServiceProvider services) : HttpMessageHandlerBuilder
    {
        public override string? Name { get; set; }

        public override HttpMessageHandler PrimaryHandler { get; set; } = new HttpClientHandler();

        public override IList<DelegatingHandler> AdditionalHandlers { get; } = [];

        public override IServiceProvider Services => services;

        public override HttpMessageHandler Build() => CreateHandlerPipeline(PrimaryHandler, AdditionalHandlers);
    }
}
