using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.RateLimiting;

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
    public void The_description_never_shows_the_password()
    {
        Assert.True(ValkeyEndpoint.TryParse("rediss://ops:hunter2@cache:6390/3", out var endpoint, out _));

        Assert.Equal("rediss://ops@cache:6390/3", endpoint.ToString());
    }

    [Fact]
    public void Bucket_keys_of_different_inputs_differ()
    {
        var part = Gen.Elements("acme", "acme:prod", "a%3A", "~anonymous", "#x", "team/alpha", new string('p', 200));
        var subject = Gen.Elements<string?>(null, string.Empty, "alice", "al:ice", "~anonymous", "%3A", "#x", new string('s', 300), new string('s', 301));
        var scope = Gen.Elements(RateLimitScope.User, RateLimitScope.Team, RateLimitScope.GatewayKey, RateLimitScope.Global);
        var input = Gen.Zip(Gen.Zip(part, scope), subject).Select(static x => (x.Item1.Item1, x.Item1.Item2, x.Item2));

        Properties.ForAll(Gen.Zip(input, input), static pair =>
        {
            var (a, b) = pair;
            var same = Normalise(a) == Normalise(b);
            Assert.Equal(same, RequestRateLimiter.BucketKey(a.Item1, a.Item2, a.Item3) == RequestRateLimiter.BucketKey(b.Item1, b.Item2, b.Item3));
        }, 500);

        static (string, RateLimitScope, string?) Normalise((string Partition, RateLimitScope Scope, string? Subject) x) =>
            (x.Partition, x.Scope, x.Scope == RateLimitScope.Global ? null : string.IsNullOrEmpty(x.Subject) ? null : x.Subject);
    }

    [Fact]
    public void Bucket_keys_stay_short()
    {
        var key = RequestRateLimiter.BucketKey(new string('p', 5000), RateLimitScope.User, new string('u', 5000));

        Assert.True(key.Length < 200, key);
    }
}
