using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Hosting;
using Keeptrusts.GatewayHost.Tests.TestSupport;
using OpenTelemetry.Exporter;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary><c>/metrics</c> and OTLP export of <c>kt gateway run</c>.</summary>
public sealed class GatewayTelemetryTests : IDisposable
{
    private const string Token = "kt_gw_metrics_token_5e4d3c2b1a";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Metrics_are_served_as_prometheus_text_to_anyone_by_default()
    {
        await using var gateway = await GatewayUnderTest.StartAsync();
        using (await gateway.ChatAsync("hello"))
        {
        }

        using var response = await gateway.Http.GetAsync(GatewayTelemetry.MetricsPath);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("keeptrusts_gateway_requests_total{", text, StringComparison.Ordinal);
        Assert.Contains("keeptrusts_router_attempts_total{", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_admin_mode_metrics_need_the_api_token()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(s => s with { Metrics = MetricsEndpoint.Admin, ApiToken = Token });

        using var anonymous = await gateway.Http.GetAsync(GatewayTelemetry.MetricsPath);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, GatewayTelemetry.MetricsPath) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "nope") } };
        using var wrongResponse = await gateway.Http.SendAsync(wrong);
        using var right = new HttpRequestMessage(HttpMethod.Get, GatewayTelemetry.MetricsPath) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var rightResponse = await gateway.Http.SendAsync(right);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("\"type\":\"authentication_error\"", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rightResponse.StatusCode);
        Assert.DoesNotContain(Token, gateway.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_can_be_turned_off()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(s => s with { Metrics = MetricsEndpoint.Off });

        using var response = await gateway.Http.GetAsync(GatewayTelemetry.MetricsPath);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task With_an_otlp_endpoint_spans_and_metrics_reach_the_collector_without_prompt_text()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        await using var collector = await FakeHttpServer.StartAsync(async http =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            received.Enqueue((http.Request.Path.Value ?? string.Empty, body.ToArray()));
            http.Response.StatusCode = 200;
        });
        await using var gateway = await GatewayUnderTest.StartAsync(s => s with
        {
            Otlp = new OtlpSettings(collector.BaseUrl, OtlpExportProtocol.HttpProtobuf) { ExportInterval = TimeSpan.FromMilliseconds(200) },
        });

        using (await gateway.ChatAsync("mail jane.doe@example.org the numbers"))
        {
        }

        var streamed = GatewayUnderTest.ChatBody("stream jane.doe@example.org please").Replace("{\"model\"", "{\"stream\":true,\"model\"", StringComparison.Ordinal);
        using (var response = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(streamed, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        string Received(string path) => string.Concat(received.Where(r => r.Path == path).Select(static r => Encoding.UTF8.GetString(r.Body)));
        using var limit = new CancellationTokenSource(GatewayUnderTest.Bound);
        while (!(Received("/v1/traces").Contains("keeptrusts.stream", StringComparison.Ordinal)
            && Received("/v1/metrics").Contains("keeptrusts.gateway.requests", StringComparison.Ordinal)))
        {
            // The exporter pushes on its own timer; wait for it, bounded.
            await Task.Delay(50, limit.Token);
        }

        var traces = Received("/v1/traces");
        Assert.Contains("keeptrusts.gateway.request", traces, StringComparison.Ordinal);
        Assert.Contains("keeptrusts.identity", traces, StringComparison.Ordinal);
        Assert.Contains("keeptrusts.upstream.attempt", traces, StringComparison.Ordinal);
        Assert.Contains("keeptrusts.policy.input", traces, StringComparison.Ordinal);
        Assert.Contains("keeptrusts.policy.output", traces, StringComparison.Ordinal);
        Assert.Contains("keeptrusts-gateway", traces, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.org", traces, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.org", Received("/v1/metrics"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--metrics", "admin" }, "KEEPTRUSTS_METRICS", "", "metrics 'admin' needs the api token")]
    [InlineData(new string[0], "KEEPTRUSTS_METRICS", "sometimes", "KEEPTRUSTS_METRICS must be on, admin or off")]
    [InlineData(new string[0], "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317", "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http or https URL")]
    public void Bad_telemetry_settings_are_one_line_each(string[] flags, string variable, string value, string problem)
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);
        var console = KtWithEnvironment.Console(TextWriter.Null, TextWriter.Null, _dir.Path, new Dictionary<string, string> { [variable] = value });
        var command = new GatewayRunCommand(console);
        var parse = command.Parse(["-c", config, .. flags]);

        var (settings, problems) = command.Resolve(parse);

        Assert.Null(settings);
        Assert.Contains(problems, p => p.StartsWith(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void Otlp_settings_come_from_the_standard_variables()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);
        var console = KtWithEnvironment.Console(TextWriter.Null, TextWriter.Null, _dir.Path, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["KEEPTRUSTS_METRICS"] = "off",
        });
        var command = new GatewayRunCommand(console);

        var (settings, problems) = command.Resolve(command.Parse(["-c", config]));

        Assert.Empty(problems);
        Assert.Equal(new Uri("http://collector:4318"), settings!.Otlp!.Endpoint);
        Assert.Equal(OtlpExportProtocol.HttpProtobuf, settings.Otlp.Protocol);
        Assert.Equal(MetricsEndpoint.Off, settings.Metrics);
        Assert.Contains("otlp: http://collector:4318/ (http/protobuf)", settings.Describe());
    }
}
