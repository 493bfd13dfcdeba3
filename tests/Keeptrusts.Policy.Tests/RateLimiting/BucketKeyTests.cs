using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.RateLimiting;

public sealed class BucketKeyTests
{
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
