using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Keeptrusts.AspNetCore.Tests.Identity;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Identity;
using Microsoft.Extensions.Hosting;

namespace Keeptrusts.AspNetCore.Tests.Endpoints;

public sealed class FailureAndTelemetryTests
{
    [Fact]
    public async Task An_unexpected_failure_is_a_500_with_a_request_id_and_no_internals()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            Configs.OpenAI(upstream.BaseUrl, extra: IdentityModeTests.KeysSection("gateway_key", requireVerified: false)),
            build: b => b.UseGatewayKeyResolver(new ThrowingResolver()));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "kt_gk_not_in_the_configuration_42");
        using var response = await gateway.Http.SendAsync(request, Patience.Token());
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Keeptrusts-Request-Id").Single();
        Assert.Contains(requestId, body, StringComparison.Ordinal);
        Assert.Equal("server_error", (await ChatCompletionsTests.ErrorAsync(response)).GetProperty("type").GetString());
        Assert.DoesNotContain("resolver exploded", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Keeptrusts", body, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Entries, e => e.Id.Id == 25 && e.Message.Contains(requestId, StringComparison.Ordinal));
        Assert.DoesNotContain("kt_gk_not_in_the_configuration_42", gateway.Logs.AllText, StringComparison.Ordinal);
        Assert.Equal(0, upstream.Requests);
    }

    [Fact]
    public async Task Requests_are_counted_and_timed_by_endpoint_status_and_outcome()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Configs.OpenAI(upstream.BaseUrl, chain: "[content-filter]", policy: "content-filter: { input: { deny_keywords: [falcon] } }"));
        var counted = new List<(long Value, Dictionary<string, object?> Tags)>();
        var timed = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Keeptrusts.AspNetCore")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "keeptrusts.gateway.requests")
            {
                lock (counted)
                {
                    counted.Add((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
                }
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) =>
        {
            if (instrument.Name == "keeptrusts.gateway.request.duration")
            {
                Interlocked.Increment(ref timed);
            }
        });
        listener.Start();

        using (await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""))
        using (await ChatCompletionsTests.PostAsync(gateway, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"falcon"}]}"""))
        {
        }

        lock (counted)
        {
            Assert.Contains(counted, c => (string?)c.Tags["outcome"] == "ok" && (int?)c.Tags["http.response.status_code"] == 200);
            Assert.Contains(counted, c => (string?)c.Tags["outcome"] == "blocked" && (int?)c.Tags["http.response.status_code"] == 400);
            Assert.All(counted, c => Assert.Equal("chat_completions", c.Tags["endpoint"]));
        }

        Assert.True(timed >= 2);
    }

    private sealed class ThrowingResolver : IGatewayKeyResolver
    {
        public ValueTask<GatewayKeyEntry?> FindAsync(string sha256Hex, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("resolver exploded");
    }
}
