using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Factory;

public sealed class ProviderClientFactoryTests
{
    [Theory]
    [InlineData("manual-input")]
    [InlineData("sequence")]
    [InlineData("simulated-user")]
    [InlineData("go")]
    [InlineData("ruby")]
    [InlineData("webhook")]
    [InlineData("Slack")]
    public void A_rejected_family_cannot_be_created_and_the_error_names_the_target_and_an_alternative(string family)
    {
        var target = new ProviderTarget { Id = "legacy-target", Provider = family };

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Equal("legacy-target", error.TargetId);
        Assert.Contains("'legacy-target'", error.Message, StringComparison.Ordinal);
        Assert.Contains("exec:", error.Message, StringComparison.Ordinal);
        Assert.Contains("file://", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("azure-openai")]
    [InlineData("exec:")]
    [InlineData("file://")]
    public void An_unknown_family_cannot_be_created(string family)
    {
        var target = new ProviderTarget { Id = "odd", Provider = family };

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Equal("odd", error.TargetId);
        Assert.Contains("not a known provider family", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("browser")]
    [InlineData("chatkit")]
    [InlineData("websocket")]
    [InlineData("openai:chatkit:support-flow")]
    [InlineData("openai:agents")]
    public async Task An_adapter_family_without_adapter_command_answers_501_with_openai_error_json(string family)
    {
        var target = new ProviderTarget { Id = "runner", Provider = family };
        var client = ProviderClientFactory.Create(Targets.Options()).Create(target);

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(501, response.StatusCode);
        var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error");
        Assert.Contains("adapter_command", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(family, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("adapter_command_required", error.GetProperty("code").GetString());
        Assert.False(await client.ProbeAsync("/v1/models", Targets.Patience()));
    }

    [Fact]
    public async Task An_mcp_target_without_adapter_command_answers_501()
    {
        var target = new ProviderTarget { Id = "docs-mcp", Provider = "mcp", BaseUrl = "https://mcp.example.com" };
        var client = ProviderClientFactory.Create(Targets.Options()).Create(target);

        await using var response = await client.SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(501, response.StatusCode);
        Assert.Null(response.Chunks);
        var message = JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("served over MCP at /mcp/docs-mcp", message, StringComparison.Ordinal);
        Assert.Contains("not through chat completions", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_environment_variable_names_the_target_and_the_variable()
    {
        var target = new ProviderTarget { Id = "openai-primary", Provider = "openai", SecretKeyRef = new SecretKeyRef { Env = "MISSING_OPENAI_KEY" } };

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Equal("openai-primary", error.TargetId);
        Assert.Contains("'openai-primary'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'MISSING_OPENAI_KEY'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_environment_credential_with_a_line_break_is_refused_without_showing_it()
    {
        const string value = "sk-live-abcdef\r\nX-Injected: yes";
        var target = new ProviderTarget { Id = "openai-primary", Provider = "openai", SecretKeyRef = new SecretKeyRef { Env = "BROKEN_KEY" } };
        var options = Targets.Options(configure: o => o.EnvironmentVariableReader = _ => value);

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(options).Create(target));

        Assert.Contains("'BROKEN_KEY'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-live-abcdef", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_reference_without_a_secret_resolver_cannot_be_created()
    {
        var target = new ProviderTarget { Id = "openai-primary", Provider = "openai", SecretKeyRef = new SecretKeyRef { Store = "OPENAI_API_KEY" } };

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Equal("openai-primary", error.TargetId);
        Assert.Contains("secret resolver for store references is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("'OPENAI_API_KEY'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_reference_is_resolved_for_each_attempt()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, "{}");
        var resolver = new TestSecretResolver { Resolve = name => name == "OPENAI_API_KEY" ? "sk-from-store-987654" : null };
        var target = Targets.OpenAI(upstream.BaseUrl, secret: new SecretKeyRef { Store = "OPENAI_API_KEY" });
        var client = ProviderClientFactory.Create(Targets.Options(configure: o => o.SecretResolver = resolver)).Create(target);

        await using (await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience()))
        {
        }

        resolver.Resolve = _ => "sk-rotated-111111";
        await using (await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience()))
        {
        }

        Assert.Equal(["Bearer sk-from-store-987654", "Bearer sk-rotated-111111"], upstream.Requests.Select(r => r.Header("Authorization")));
        Assert.Equal(2, resolver.Calls);
    }

    [Fact]
    public async Task A_store_reference_the_resolver_cannot_resolve_answers_500_and_reaches_no_upstream()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, "{}");
        var resolver = new TestSecretResolver { Resolve = _ => throw new InvalidOperationException("token sk-should-not-appear expired") };
        var target = Targets.OpenAI(upstream.BaseUrl, secret: new SecretKeyRef { Store = "OPENAI_API_KEY" });
        var client = ProviderClientFactory.Create(Targets.Options(configure: o => o.SecretResolver = resolver)).Create(target);

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(500, response.StatusCode);
        var text = Targets.Text(response.Body);
        Assert.Contains("OPENAI_API_KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-should-not-appear", text, StringComparison.Ordinal);
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("ftp://example.com")]
    [InlineData("not a url")]
    [InlineData("https://user:pass@example.com")]
    [InlineData("https://example.com/v1?key=1")]
    public void An_unusable_base_url_cannot_be_created(string baseUrl)
    {
        var target = Targets.OpenAI(baseUrl, id: "bad-url");

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Equal("bad-url", error.TargetId);
        Assert.DoesNotContain("pass", error.Message.Replace("path_template", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_format_cannot_be_created()
    {
        var target = Targets.OpenAI("https://api.example.com") with { Format = "gemini" };

        var error = Assert.Throws<ProviderConfigurationException>(() => ProviderClientFactory.Create(Targets.Options()).Create(target));

        Assert.Contains("'gemini'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_reported_all_at_once()
    {
        var options = new ProviderClientOptions { ApiKeyHeader = "Bad Header:", ApiKeyPrefix = "Bea\rrer", MaxResponseBytes = 0 };

        var error = Assert.Throws<ArgumentException>(() => ProviderClientFactory.Create(options));

        Assert.Contains("ApiKeyHeader", error.Message, StringComparison.Ordinal);
        Assert.Contains("ApiKeyPrefix", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxResponseBytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_are_read_once_when_the_factory_is_created()
    {
        await using var upstream = await FakeUpstream.RespondAsync(200, "{}");
        var options = Targets.Options(configure: o => o.ApiKeyHeader = "api-key");
        var factory = ProviderClientFactory.Create(options);
        options.ApiKeyHeader = "changed-later";
        var target = Targets.OpenAI(upstream.BaseUrl);

        await using var response = await factory.Create(target).SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.NotNull(upstream.Single().Header("api-key"));
        Assert.Null(upstream.Single().Header("changed-later"));
    }
}

internal sealed class TestSecretResolver : ISecretResolver
{
    private int _calls;

    public Func<string, string?> Resolve { get; set; } = _ => null;

    public int Calls => _calls;

    public ValueTask<string?> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(Resolve(name));
    }
}
