using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Http;
using Keeptrusts.Providers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Keeptrusts.Providers.Tests.Factory;

public sealed class ServiceRegistrationTests
{
    [Fact]
    public async Task AddKeeptrustsProviders_serves_targets_through_named_http_clients_with_the_configured_options()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, "{}");
        var services = new ServiceCollection();
        services.AddKeeptrustsProviders(o =>
        {
            o.ApiKeyHeader = "api-key";
            o.ApiKeyPrefix = "";
            o.EnvironmentVariableReader = _ => "sk-from-env-123456";
        });
        await using var provider = services.BuildServiceProvider();
        var target = Targets.OpenAI(upstream.BaseUrl);

        var client = provider.GetRequiredService<IProviderClientFactory>().Create(target);
        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("sk-from-env-123456", upstream.Single().Header("api-key"));
        var named = provider.GetRequiredService<IHttpClientFactory>().CreateClient(ProviderHttp.ClientName(new Uri(upstream.BaseUrl)));
        Assert.Equal(Timeout.InfiniteTimeSpan, named.Timeout);
    }

    [Fact]
    public async Task A_secret_resolver_registered_in_the_container_serves_store_references()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, "{}");
        var services = new ServiceCollection();
        services.AddSingleton<ISecretResolver>(new TestSecretResolver { Resolve = _ => "sk-container-424242" });
        services.AddKeeptrustsProviders();
        await using var provider = services.BuildServiceProvider();
        var target = Targets.OpenAI(upstream.BaseUrl, secret: new SecretKeyRef { Store = "OPENAI_API_KEY" });

        var client = provider.GetRequiredService<IProviderClientFactory>().Create(target);
        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal("Bearer sk-container-424242", upstream.Single().Header("Authorization"));
    }

    [Fact]
    public void Registering_twice_keeps_one_factory()
    {
        var services = new ServiceCollection();
        services.AddKeeptrustsProviders();
        services.AddKeeptrustsProviders();

        Assert.Single(services, d => d.ServiceType == typeof(IProviderClientFactory));
    }

    [Fact]
    public void The_handler_pools_connections_and_leaves_the_proxy_to_the_environment()
    {
        using var handler = ProviderHttp.CreateHandler();

        // UseProxy with no explicit Proxy means HttpClient.DefaultProxy, which reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
        Assert.True(handler.UseProxy);
        Assert.Null(handler.Proxy);
        Assert.False(handler.AllowAutoRedirect);
        Assert.True(handler.PooledConnectionLifetime > TimeSpan.Zero && handler.PooledConnectionLifetime != Timeout.InfiniteTimeSpan);
    }
}
