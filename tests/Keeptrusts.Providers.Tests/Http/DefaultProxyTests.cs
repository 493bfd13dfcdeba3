using System.Net;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Keeptrusts.Providers.Tests.Http;

[CollectionDefinition(nameof(DefaultProxyTests), DisableParallelization = true)]
public sealed class DefaultProxyCollection;

/// <summary>
/// HttpClient.DefaultProxy is what HTTP_PROXY, HTTPS_PROXY and NO_PROXY configure; these tests replace it (process-wide,
/// so nothing else runs meanwhile) with a fake proxy on 127.0.0.1 and check that upstream traffic goes through it.
/// </summary>
[Collection(nameof(DefaultProxyTests))]
public sealed class DefaultProxyTests
{
    [Fact]
    public async Task Requests_to_a_remote_host_go_through_the_default_proxy_without_di()
    {
        await using var proxy = await FakeUpstream.RespondAsync(200, "{\"via\":\"proxy\"}");
        var target = Targets.OpenAI("http://upstream.invalid");

        await using var response = await WithDefaultProxy(proxy.BaseUrl, () => Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience()).AsTask());

        Assert.Equal("{\"via\":\"proxy\"}", Targets.Text(response.Body));
        Assert.Equal("upstream.invalid", proxy.Single().Header("Host"));
        Assert.Equal("/v1/chat/completions", proxy.Single().PathAndQuery);
    }

    [Fact]
    public async Task Requests_to_a_remote_host_go_through_the_default_proxy_with_di()
    {
        await using var proxy = await FakeUpstream.RespondAsync(200, "{\"via\":\"proxy\"}");
        var target = Targets.OpenAI("http://di-upstream.invalid");
        var services = new ServiceCollection();
        services.AddKeeptrustsProviders(o => o.EnvironmentVariableReader = _ => "sk-proxy-test-123456");
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IProviderClientFactory>().Create(target);

        await using var response = await WithDefaultProxy(proxy.BaseUrl, () => client.SendAsync(Targets.Request(target, "{}"), Targets.Patience()).AsTask());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("di-upstream.invalid", proxy.Single().Header("Host"));
    }

    [Fact]
    public async Task Hosts_the_proxy_bypasses_are_reached_directly()
    {
        await using var proxy = await FakeUpstream.RespondAsync(200, "{\"via\":\"proxy\"}");
        await using var upstream = await FakeUpstream.RespondAsync(200, "{\"via\":\"direct\"}");
        var target = Targets.OpenAI(upstream.BaseUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal));

        await using var response = await WithDefaultProxy(proxy.BaseUrl, () => Targets.Client(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience()).AsTask(), bypass: ["localhost"]);

        Assert.Equal("{\"via\":\"direct\"}", Targets.Text(response.Body));
        Assert.Empty(proxy.Requests);
    }

    private static async Task<T> WithDefaultProxy<T>(string proxyUrl, Func<Task<T>> action, string[]? bypass = null)
    {
        var original = HttpClient.DefaultProxy;
        HttpClient.DefaultProxy = new WebProxy(proxyUrl) { BypassProxyOnLocal = false, BypassList = bypass ?? [] };
        try
        {
            return await action();
        }
        finally
        {
            HttpClient.DefaultProxy = original;
        }
    }
}
