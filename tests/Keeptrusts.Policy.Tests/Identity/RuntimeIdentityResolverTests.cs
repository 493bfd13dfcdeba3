using System.Net;
using System.Security.Cryptography;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using Microsoft.IdentityModel.Tokens;

namespace Keeptrusts.Policy.Tests.Identity;

public sealed class RuntimeIdentityResolverTests
{
    private const string Key = "kt_gk_0123456789abcdef";
    private static readonly DateTimeOffset Start = new(2025, 6, 2, 9, 0, 0, TimeSpan.Zero);

    private static readonly GatewayKeyEntry Entry = new() { Id = "ci", Sha256 = GatewayKeys.Hash(Key), Owner = "build-bot", Team = "platform", Scopes = ["admin"] };

    [Fact]
    public async Task Header_hints_give_an_unverified_identity()
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig());

        var result = await resolver.ResolveAsync(new IdentityEvidence { UserIdHint = " alice ", UserRoleHint = "analyst", Authorization = "Bearer sk-upstream-key" });

        Assert.Equal(new CallerIdentity { UserId = "alice", UserRole = "analyst", ProofMethod = IdentityProofMethod.HeaderSoft }, result.Identity! with { Scopes = [] }, IdentityComparer.Instance);
        Assert.False(result.Identity!.IsVerified);
    }

    [Fact]
    public async Task Without_a_user_hint_the_caller_is_anonymous()
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig());

        var result = await resolver.ResolveAsync(new IdentityEvidence());

        Assert.Equal(IdentityProofMethod.None, result.Identity!.ProofMethod);
        Assert.Null(result.Identity.UserId);
    }

    [Theory]
    [InlineData("line\nbreak")]
    [InlineData("tab\there")]
    public async Task Hints_with_control_characters_are_refused(string hint)
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig());

        var result = await resolver.ResolveAsync(new IdentityEvidence { UserIdHint = hint });

        Assert.Equal(400, result.Status);
    }

    [Fact]
    public async Task Overlong_hints_are_refused()
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig());

        var result = await resolver.ResolveAsync(new IdentityEvidence { UserRoleHint = new string('r', RuntimeIdentityResolver.MaxHintLength + 1) });

        Assert.Equal(400, result.Status);
    }

    [Theory]
    [InlineData(IdentityMode.HeaderSoft)]
    [InlineData(IdentityMode.GatewayKey)]
    public async Task Require_verified_identity_refuses_hints(IdentityMode mode)
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig { Mode = mode, RequireVerifiedIdentity = true }, new RuntimeIdentityOptions { GatewayKeyResolver = Keys() });

        var result = await resolver.ResolveAsync(new IdentityEvidence { UserIdHint = "alice", Authorization = "Bearer sk-not-a-gateway-key" });

        Assert.Equal(401, result.Status);
        Assert.DoesNotContain("sk-not-a-gateway-key", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_known_gateway_key_gives_its_owner_team_and_scopes_and_outranks_hints()
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig { Mode = IdentityMode.GatewayKey, RequireVerifiedIdentity = true }, new RuntimeIdentityOptions { GatewayKeyResolver = Keys() });

        var result = await resolver.ResolveAsync(new IdentityEvidence { Authorization = "bearer  " + Key, UserIdHint = "mallory" });

        var identity = result.Identity!;
        Assert.Equal("build-bot", identity.UserId);
        Assert.Equal("platform", identity.Team);
        Assert.Equal("ci", identity.KeyId);
        Assert.Equal(IdentityProofMethod.GatewayKey, identity.ProofMethod);
        Assert.True(identity.HasScope("ADMIN"));
        Assert.Equal(identity.UserId, identity.ApplyTo().UserId);
        Assert.Equal(IdentityProofMethod.GatewayKey, identity.ApplyTo().IdentityProofMethod);
    }

    [Theory]
    [InlineData("Bearer kt_gk_unknown_key_000")]
    [InlineData("Bearer kt_gk_")]
    public async Task An_unknown_or_malformed_gateway_key_is_refused_even_in_header_soft_mode(string authorization)
    {
        using var resolver = RuntimeIdentityResolver.Create(new RuntimeIdentityConfig(), new RuntimeIdentityOptions { GatewayKeyResolver = Keys() });

        var result = await resolver.ResolveAsync(new IdentityEvidence { Authorization = authorization, UserIdHint = "alice" });

        Assert.Equal(401, result.Status);
    }

    [Fact]
    public async Task A_valid_signed_assertion_gives_its_subject_role_team_and_scopes()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var key = jwks.AddKey();
            var token = JwksHandler.Token(key, clock.GetUtcNow(), "carol", claims: new Dictionary<string, object> { ["role"] = "lead", ["team"] = "risk", ["scope"] = "chat admin" });

            var result = await resolver.ResolveAsync(new IdentityEvidence { Authorization = "Bearer " + token, UserIdHint = "mallory" });

            var identity = result.Identity!;
            Assert.Equal("carol", identity.UserId);
            Assert.Equal("lead", identity.UserRole);
            Assert.Equal("risk", identity.Team);
            Assert.Equal(["chat", "admin"], identity.Scopes);
            Assert.Equal(IdentityProofMethod.SignedAssertion, identity.ProofMethod);
        }
    }

    [Fact]
    public async Task Lifetimes_are_checked_against_the_resolvers_clock()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var token = JwksHandler.Token(jwks.AddKey(), clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(5));

            var fresh = await resolver.ResolveAsync(Bearer(token));
            clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(61));
            var expired = await resolver.ResolveAsync(Bearer(token));

            Assert.True(fresh.Succeeded);
            Assert.Equal(401, expired.Status);
            Assert.Contains("expired", expired.Failure, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_key_id_fetches_the_jwks_again_once_per_interval()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var first = jwks.AddKey();
            Assert.True((await resolver.ResolveAsync(Bearer(JwksHandler.Token(first, clock.GetUtcNow())))).Succeeded);
            Assert.Equal(1, jwks.Fetches);

            // A rotated key: the next token names it, the cached set does not have it yet.
            clock.Advance(TimeSpan.FromSeconds(30));
            var rotated = jwks.AddKey();
            Assert.True((await resolver.ResolveAsync(Bearer(JwksHandler.Token(rotated, clock.GetUtcNow())))).Succeeded);
            Assert.Equal(2, jwks.Fetches);

            // Made-up key ids cannot make it fetch again within the interval.
            var stranger = jwks.AddKey(publish: false);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(401, (await resolver.ResolveAsync(Bearer(JwksHandler.Token(stranger, clock.GetUtcNow())))).Status);
            }

            Assert.Equal(2, jwks.Fetches);
            clock.Advance(TimeSpan.FromSeconds(11));
            await resolver.ResolveAsync(Bearer(JwksHandler.Token(stranger, clock.GetUtcNow())));
            Assert.Equal(3, jwks.Fetches);
        }
    }

    [Fact]
    public async Task The_jwks_is_cached_for_its_maximum_age()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var key = jwks.AddKey();
            for (var i = 0; i < 3; i++)
            {
                await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, clock.GetUtcNow())));
            }

            Assert.Equal(1, jwks.Fetches);
            clock.Advance(TimeSpan.FromHours(1));
            await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, clock.GetUtcNow())));
            Assert.Equal(2, jwks.Fetches);
        }
    }

    [Fact]
    public async Task An_unreachable_jwks_is_503_and_is_not_hammered()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var key = jwks.AddKey();
            jwks.Status = HttpStatusCode.BadGateway;

            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(503, (await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, clock.GetUtcNow())))).Status);
            }

            Assert.Equal(1, jwks.Fetches);
            jwks.Status = HttpStatusCode.OK;
            clock.Advance(TimeSpan.FromSeconds(10));
            Assert.True((await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, clock.GetUtcNow())))).Succeeded);
        }
    }

    [Fact]
    public async Task A_jwks_that_never_answers_times_out_into_503()
    {
        var config = new RuntimeIdentityConfig { Mode = IdentityMode.SignedAssertion, JwksUrl = JwksHandler.Url };
        using var hanging = new HangingHandler();
        using var resolver = RuntimeIdentityResolver.Create(config, new RuntimeIdentityOptions
        {
            HttpClientFactory = () => new HttpClient(hanging, disposeHandler: false),
            JwksFetchTimeout = TimeSpan.FromMilliseconds(100),
        });
        var token = JwksHandler.Token(new JwksHandler().AddKey(), DateTimeOffset.UtcNow);

        var result = await resolver.ResolveAsync(Bearer(token)).AsTask().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(503, result.Status);
        Assert.True(hanging.Cancelled);
    }

    [Fact]
    public async Task A_malformed_jwks_document_counts_as_unreachable()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var key = jwks.AddKey();
            jwks.Body = "{ not json";

            Assert.Equal(503, (await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, clock.GetUtcNow())))).Status);
        }
    }

    [Fact]
    public async Task Assertions_without_a_subject_wrong_audience_or_unsigned_are_refused()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var key = jwks.AddKey();
            var now = clock.GetUtcNow();
            var unsigned = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(
                $$"""{"sub":"eve","iss":"{{JwksHandler.Issuer}}","aud":"{{JwksHandler.Audience}}","exp":{{now.AddMinutes(5).ToUnixTimeSeconds()}}}""");

            Assert.Equal(401, (await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, now, subject: null)))).Status);
            Assert.Equal(401, (await resolver.ResolveAsync(Bearer(JwksHandler.Token(key, now, audience: "elsewhere")))).Status);
            Assert.Equal(401, (await resolver.ResolveAsync(Bearer(unsigned + "x.y"))).Status);
            Assert.Equal(401, (await resolver.ResolveAsync(Bearer("eyJ" + new string('a', RuntimeIdentityResolver.MaxAssertionLength) + ".a.b"))).Status);
        }
    }

    [Fact]
    public async Task An_hmac_signed_assertion_is_refused_even_when_the_jwks_publishes_its_secret()
    {
        var (resolver, jwks, clock) = Assertions();
        using (resolver)
        {
            var secret = RandomNumberGenerator.GetBytes(32);
            jwks.Body = $$"""{"keys":[{"kty":"oct","kid":"shared","k":"{{Base64UrlEncoder.Encode(secret)}}"}]}""";
            var now = clock.GetUtcNow();
            var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = JwksHandler.Issuer,
                Audience = JwksHandler.Audience,
                Claims = new Dictionary<string, object> { ["sub"] = "mallory" },
                IssuedAt = now.UtcDateTime,
                NotBefore = now.UtcDateTime,
                Expires = now.UtcDateTime.AddMinutes(5),
                SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(secret) { KeyId = "shared" }, SecurityAlgorithms.HmacSha256),
            });

            var resolution = await resolver.ResolveAsync(Bearer(token));

            // Refused twice over: symmetric keys are not taken from a JWKS, and HMAC algorithms are not accepted.
            Assert.NotEqual(200, resolution.Status);
            Assert.Null(resolution.Identity);
        }
    }

    [Fact]
    public void Signed_assertion_mode_needs_an_absolute_jwks_url()
    {
        Assert.Throws<ArgumentException>(() => RuntimeIdentityResolver.Create(new RuntimeIdentityConfig { Mode = IdentityMode.SignedAssertion }));
    }

    private static IdentityEvidence Bearer(string token) => new() { Authorization = "Bearer " + token };

    private static LocalGatewayKeyResolver Keys() => new([Entry]);

    private static (RuntimeIdentityResolver Resolver, JwksHandler Jwks, StepClock Clock) Assertions()
    {
        var jwks = new JwksHandler();
        var clock = new StepClock(Start);
        var config = new RuntimeIdentityConfig
        {
            Mode = IdentityMode.SignedAssertion,
            RequireVerifiedIdentity = true,
            JwksUrl = JwksHandler.Url,
            Issuer = JwksHandler.Issuer,
            Audience = JwksHandler.Audience,
        };
        var resolver = RuntimeIdentityResolver.Create(config, new RuntimeIdentityOptions { TimeProvider = clock, HttpClientFactory = jwks.Client });
        return (resolver, jwks, clock);
    }

    private sealed class HangingHandler : HttpMessageHandler
    {
        public bool Cancelled { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }

            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    private sealed class IdentityComparer : IEqualityComparer<CallerIdentity>
    {
        public static readonly IdentityComparer Instance = new();

        public bool Equals(CallerIdentity? x, CallerIdentity? y) =>
            x?.UserId == y?.UserId && x?.UserRole == y?.UserRole && x?.Team == y?.Team && x?.ProofMethod == y?.ProofMethod && x?.KeyId == y?.KeyId;

        public int GetHashCode(CallerIdentity obj) => 0;
    }
}
