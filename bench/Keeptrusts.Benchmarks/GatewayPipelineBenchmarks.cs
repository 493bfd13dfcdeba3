using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// What the ASP.NET Core gateway costs per request, in process (TestServer, no sockets) against an echo target:
/// <c>POST /v1/chat/completions</c> with a 1 KB message, non-streamed and streamed, through an empty chain and through
/// pii-detector + prompt-injection + content-filter. The empty chain is the price of the surface itself (identity,
/// body, routing, echo, answer); the difference is the policies.
/// </summary>
[MemoryDiagnoser]
public class GatewayPipelineBenchmarks
{
    private WebApplication? _app;
    private HttpClient? _client;
    private byte[] _body = [];
    private byte[] _streamBody = [];

    [Params(false, true)]
    public bool Policies { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        var chain = Policies ? "[pii-detector, prompt-injection, content-filter]" : "[]";
        var yaml = $$"""
            pack: { name: bench, version: 0.1.0 }
            policies:
              chain: {{chain}}
            policy:
              content-filter: { input: { deny_keywords: [project falcon] } }
            providers:
              targets:
                - id: echo
                  provider: echo
                  model: echo-1
            """;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeeptrustsGateway(o => o.ConfigYaml = yaml);
        _app = builder.Build();
        _app.MapKeeptrustsGateway();
        await _app.StartAsync();
        _client = _app.GetTestClient();

        var words = new StringBuilder();
        while (words.Length < 1024)
        {
            words.Append("please summarise the quarterly report for the team ");
        }

        _body = Encoding.UTF8.GetBytes($$"""{"model":"echo-1","messages":[{"role":"user","content":"{{words}}"}]}""");
        _streamBody = Encoding.UTF8.GetBytes($$"""{"model":"echo-1","stream":true,"messages":[{"role":"user","content":"{{words}}"}]}""");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Benchmark]
    public Task<int> Completion() => PostAsync(_body);

    [Benchmark]
    public Task<int> StreamedCompletion() => PostAsync(_streamBody);

    private async Task<int> PostAsync(byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _client!.PostAsync("/v1/chat/completions", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode ? bytes.Length : throw new InvalidOperationException($"status {(int)response.StatusCode}");
    }
}
