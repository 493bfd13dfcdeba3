using System.ClientModel;
using System.Net;
using System.Text;
using Keeptrusts.AspNetCore.Tests.Endpoints;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Identity;
using OpenAI.Chat;

namespace Keeptrusts.AspNetCore.Tests.Identity;

public sealed class IdentityModeTests
{
    private const string AlphaKey = "kt_gk_alpha_5f2d8c1e9b7a4f60a1c3e5d7f9b2c4e6";

    [Fact]
    public async Task Header_soft_takes_the_user_from_headers_and_records_it_as_unverified()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        var client = gateway.Chat(configure: o => o.AddPolicy(new HeaderPolicy(("X-User-ID", "alice"), ("X-User-Role", "analyst")), System.ClientModel.Primitives.PipelinePosition.PerCall));
        await client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.NotEmpty(gateway.Sink.Records);
        Assert.All(gateway.Sink.Records, r =>
        {
            Assert.Equal("alice", r.UserId);
            Assert.Equal(IdentityProofMethod.HeaderSoft, r.IdentityProofMethod);
        });
    }

    [Fact]
    public async Task Without_any_identity_the_records_say_none()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl));

        await gateway.Chat().CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.All(gateway.Sink.Records, r =>
        {
            Assert.Null(r.UserId);
            Assert.Equal(IdentityProofMethod.None, r.IdentityProofMethod);
        });
    }

    [Fact]
    public async Task Require_verified_identity_refuses_header_hints_with_401()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var yaml = Configs.OpenAI(upstream.BaseUrl, extra: KeysSection("gateway_key", requireVerified: true));
        await using var gateway = await TestGateway.StartAsync(yaml);

        var client = gateway.Chat(configure: o => o.AddPolicy(new HeaderPolicy(("X-User-ID", "alice")), System.ClientModel.Primitives.PipelinePosition.PerCall));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));

        Assert.Equal(401, error.Status);
        Assert.Equal(0, upstream.Requests);
        Assert.Empty(gateway.Sink.Records);
    }

    [Fact]
    public async Task A_gateway_key_identifies_its_owner_and_team()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var yaml = Configs.OpenAI(upstream.BaseUrl, extra: KeysSection("gateway_key", requireVerified: true));
        await using var gateway = await TestGateway.StartAsync(yaml);

        await gateway.Chat(apiKey: AlphaKey).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.All(gateway.Sink.Records, r =>
        {
            Assert.Equal("alice@example.com", r.UserId);
            Assert.Equal(IdentityProofMethod.GatewayKey, r.IdentityProofMethod);
        });
        Assert.DoesNotContain(AlphaKey, gateway.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(AlphaKey, string.Concat(upstream.Authorizations), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_gateway_key_is_refused_with_401_in_every_mode()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var yaml = Configs.OpenAI(upstream.BaseUrl, extra: KeysSection("header_soft", requireVerified: false));
        await using var gateway = await TestGateway.StartAsync(yaml);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat(apiKey: "kt_gk_not_a_known_key_0000000000").CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));

        Assert.Equal(401, error.Status);
        Assert.Contains("authentication_error", error.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("kt_gk_not_a_known_key", error.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, upstream.Requests);
    }

    [Theory]
    [InlineData("keys.yaml", "gateway_keys:\n  - id: file-key\n    sha256: {0}\n    owner: bob\n    team: payments\n")]
    [InlineData("keys.json", "[{{\"id\":\"file-key\",\"sha256\":\"{0}\",\"owner\":\"bob\",\"team\":\"payments\"}}]")]
    public async Task Gateway_keys_come_from_a_keys_file_in_yaml_or_json(string name, string template)
    {
        const string key = "kt_gk_from_file_77aa88bb99cc00dd11ee22ff";
        var directory = Directory.CreateTempSubdirectory("kt-keys-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, name), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, GatewayKeys.Hash(key)));
            await using var upstream = await FakeUpstream.StartAsync();
            var config = Path.Combine(directory.FullName, "policy-config.yaml");
            File.WriteAllText(config, Configs.OpenAI(upstream.BaseUrl, extra: $"runtime_identity:\n  mode: gateway_key\n  require_verified_identity: true\n  gateway_keys_file: {name}\n"));
            await using var gateway = await TestGateway.StartAsync(string.Empty, o => o.ConfigFiles.Add(config));

            await gateway.Chat(apiKey: key).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

            Assert.All(gateway.Sink.Records, r => Assert.Equal("bob", r.UserId));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_signed_assertion_identifies_its_subject()
    {
        await using var jwks = await JwksServer.StartAsync();
        var key = jwks.NewKey();
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: AssertionSection(jwks.Url)));

        var token = JwksServer.Token(key, "carol", DateTimeOffset.UtcNow, claims: new Dictionary<string, object> { ["role"] = "admin", ["team"] = "risk" });
        await gateway.Chat(apiKey: token).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token());

        Assert.NotEmpty(gateway.Sink.Records);
        Assert.All(gateway.Sink.Records, r =>
        {
            Assert.Equal("carol", r.UserId);
            Assert.Equal(IdentityProofMethod.SignedAssertion, r.IdentityProofMethod);
        });
        Assert.DoesNotContain(token, gateway.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_signed_assertions_are_refused_with_401()
    {
        await using var jwks = await JwksServer.StartAsync();
        var key = jwks.NewKey();
        var stranger = jwks.NewKey(publish: false);
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: AssertionSection(jwks.Url)));
        var now = DateTimeOffset.UtcNow;

        string[] tokens =
        [
            JwksServer.Token(key, "carol", now, audience: "someone-else"),
            JwksServer.Token(key, "carol", now, issuer: "https://evil.test"),
            JwksServer.Token(key, "carol", now.AddHours(-2), lifetime: TimeSpan.FromMinutes(5)),
            JwksServer.Token(stranger, "carol", now),
        ];
        foreach (var token in tokens)
        {
            var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat(apiKey: token).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));
            Assert.Equal(401, error.Status);
        }

        Assert.Equal(0, upstream.Requests);
    }

    [Fact]
    public async Task Signed_assertion_mode_with_require_verified_refuses_requests_without_a_token()
    {
        await using var jwks = await JwksServer.StartAsync();
        jwks.NewKey();
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: AssertionSection(jwks.Url)));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-User-ID", "mallory");
        using var response = await gateway.Http.SendAsync(request, Patience.Token());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("type").GetString());
        Assert.Equal("Bearer realm=\"keeptrusts\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task An_unreachable_jwks_answers_503_rather_than_guessing()
    {
        await using var jwks = await JwksServer.StartAsync();
        var key = jwks.NewKey();
        jwks.Available = false;
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, extra: AssertionSection(jwks.Url)));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat(apiKey: JwksServer.Token(key, "carol", DateTimeOffset.UtcNow)).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Patience.Token()));

        Assert.Equal(503, error.Status);
        Assert.Equal(0, upstream.Requests);
    }

    internal static string KeysSection(string mode, bool requireVerified, string scopes = "[]") => $$"""
        runtime_identity:
          mode: {{mode}}
          require_verified_identity: {{(requireVerified ? "true" : "false")}}
          gateway_keys:
            - id: alpha
              sha256: {{GatewayKeys.Hash(AlphaKey)}}
              owner: alice@example.com
              team: payments
              scopes: {{scopes}}
        """;

    internal static string AssertionSection(string jwksUrl) => $$"""
        runtime_identity:
          mode: signed_assertion
          require_verified_identity: true
          jwks_url: {{jwksUrl}}
          issuer: {{JwksServer.Issuer}}
          audience: {{JwksServer.Audience}}
        """;

    internal static string Key => AlphaKey;
}
