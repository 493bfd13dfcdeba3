using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.AspNetCore.Tests.TestSupport;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class RateLimitTests
{
    // url_env names a variable that is never set: the limit is counted in-process, as when Valkey is unreachable.
    private const string Config = """
        pack: { name: rate-tests, version: 0.1.0 }
        policies:
          chain: [pii-detector]
        providers:
          targets:
            - id: echo
              provider: echo
              model: echo-1
        distributed_rate_limit:
          backend: valkey
          url_env: KEEPTRUSTS_TEST_UNSET_VALKEY_URL
          requests_per_minute: 2
          scope: user
        """;

    private static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"echo-1","messages":[{"role":"user","content":"hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-User-ID", user);
        return await gateway.Http.SendAsync(request, Patience.Token());
    }

    [Fact]
    public async Task A_caller_over_the_limit_gets_429_with_retry_after_and_others_are_not_affected()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        using var first = await SendAsync(gateway, "alice");
        using var second = await SendAsync(gateway, "alice");
        using var third = await SendAsync(gateway, "alice");
        using var other = await SendAsync(gateway, "bob");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("1", first.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.Equal("0", third.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.InRange(third.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        var error = JsonNode.Parse(await third.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("rate_limit_error", (string?)error["type"]);
        Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Without_the_section_no_limit_applies_and_no_limit_headers_are_sent()
    {
        await using var gateway = await TestGateway.StartAsync(Config[..Config.IndexOf("distributed_rate_limit", StringComparison.Ordinal)]);

        for (var i = 0; i < 4; i++)
        {
            using var response = await SendAsync(gateway, "alice");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("X-RateLimit-Remaining"));
        }
    }
}
