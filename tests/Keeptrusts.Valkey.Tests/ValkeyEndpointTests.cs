namespace Keeptrusts.Valkey.Tests;

public sealed class ValkeyEndpointTests
{
    public static TheoryData<string, string, int, bool, string?, string?, int> Urls => new()
    {
        { "redis://cache", "cache", 6379, false, null, null, 0 },
        { "redis://cache:6380/2", "cache", 6380, false, null, null, 2 },
        { "rediss://cache.example.com:6390", "cache.example.com", 6390, true, null, null, 0 },
        { "redis://:s3cret@cache", "cache", 6379, false, null, "s3cret", 0 },
        { "redis://ops:p%40ss@cache/1", "cache", 6379, false, "ops", "p@ss", 1 },
        { "redis://s3cret@cache", "cache", 6379, false, null, "s3cret", 0 },
        { "valkey://[::1]:7000", "::1", 7000, false, null, null, 0 },
        { "valkeys://127.0.0.1", "127.0.0.1", 6379, true, null, null, 0 },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void Parses_host_port_tls_credentials_and_database(string url, string host, int port, bool tls, string? user, string? password, int db)
    {
        Assert.True(ValkeyEndpoint.TryParse(url, out var endpoint, out var problem), problem);

        Assert.Equal(new ValkeyEndpoint(host, port, tls, user, password, db), endpoint);
    }

    [Theory]
    [InlineData("not a url", "not an absolute URL")]
    [InlineData("cache:6379", "scheme 'cache'")]
    [InlineData("http://cache:6379", "scheme 'http'")]
    [InlineData("redis://cache/abc", "database number")]
    [InlineData("redis://cache/-1", "database number")]
    public void Rejects_what_is_not_a_valkey_url(string url, string expected)
    {
        Assert.False(ValkeyEndpoint.TryParse(url, out _, out var problem));

        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_client_configuration_fails_fast_and_keeps_the_credentials()
    {
        Assert.True(ValkeyEndpoint.TryParse("rediss://ops:hunter2@cache:6390/3", out var endpoint, out _));

        var configuration = endpoint.ToConfiguration(new ValkeyOptions());

        Assert.Same(StackExchange.Redis.BacklogPolicy.FailFast, configuration.BacklogPolicy);
        Assert.False(configuration.AbortOnConnectFail);
        Assert.True(configuration.Ssl);
        Assert.Equal(("ops", "hunter2", 3), (configuration.User, configuration.Password, configuration.DefaultDatabase));
        Assert.True(configuration.HeartbeatInterval < TimeSpan.FromSeconds(1));
        Assert.Equal(250, configuration.AsyncTimeout);
        Assert.Equal(1000, configuration.ConnectTimeout);
    }

    [Fact]
    public void The_description_never_shows_the_password()
    {
        Assert.True(ValkeyEndpoint.TryParse("rediss://ops:hunter2@cache:6390/3", out var endpoint, out _));

        Assert.Equal("rediss://ops@cache:6390/3", endpoint.ToString());
    }
}
