using System.ClientModel;
using Keeptrusts.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>
/// A gateway app on real Kestrel at 127.0.0.1 (ephemeral port): <c>AddKeeptrustsGateway</c> + <c>MapKeeptrustsGateway</c>,
/// with captured logs and a recording decision sink.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGateway(WebApplication app, CapturedLogs logs, RecordingSink sink)
    {
        _app = app;
        Logs = logs;
        Sink = sink;
        BaseUrl = app.Urls.First();
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = Patience.Limit };
    }

    public string BaseUrl { get; }

    public HttpClient Http { get; }

    public CapturedLogs Logs { get; }

    public RecordingSink Sink { get; }

    public IServiceProvider Services => _app.Services;

    public IKeeptrustsGatewayRuntime Runtime => _app.Services.GetRequiredService<IKeeptrustsGatewayRuntime>();

    public static async Task<TestGateway> StartAsync(string yaml, Action<KeeptrustsGatewayOptions>? configure = null, Action<IKeeptrustsGatewayBuilder>? build = null)
    {
        var logs = new CapturedLogs();
        var sink = new RecordingSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var gateway = builder.Services.AddKeeptrustsGateway(options =>
        {
            if (yaml.Length > 0)
            {
                options.ConfigYaml = yaml;
            }

            configure?.Invoke(options);
        });
        gateway.AddDecisionSink(sink);
        build?.Invoke(gateway);
        var app = builder.Build();
        app.MapKeeptrustsGateway();
        await app.StartAsync(Patience.Token());
        return new TestGateway(app, logs, sink);
    }

    public ChatClient Chat(string model = "gpt-4o-mini", string apiKey = "sk-caller-key", Action<OpenAIClientOptions>? configure = null)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(BaseUrl + "/v1"), NetworkTimeout = Patience.Limit };
        configure?.Invoke(options);
        return new ChatClient(model, new ApiKeyCredential(apiKey), options);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using var stop = new CancellationTokenSource(Patience.Limit);
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
