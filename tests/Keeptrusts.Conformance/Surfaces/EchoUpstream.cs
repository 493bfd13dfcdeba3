using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>
/// The echo provider on a real socket (Kestrel, 127.0.0.1, ephemeral port), for the gateways: answers
/// <c>POST /v1/chat/completions</c> with the last user message, streamed in <see cref="Chunks"/> when asked, one
/// flushed event at a time.
/// </summary>
internal sealed class EchoUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int[] _chunks = [1000];

    private EchoUpstream(WebApplication app) => _app = app;

    public string BaseUrl => _app.Urls.First();

    public int[] Chunks
    {
        get => Volatile.Read(ref _chunks);
        set => Volatile.Write(ref _chunks, value);
    }

    public static async Task<EchoUpstream> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new EchoUpstream(app);
        app.MapPost("/v1/chat/completions", upstream.AnswerAsync);
        await app.StartAsync(cancellationToken);
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task AnswerAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var request = body.ToArray();
        var echo = Wire.LastUser(request);
        if (System.Text.Json.Nodes.JsonNode.Parse(request)!["stream"]?.GetValue<bool>() != true)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Wire.Completion(echo), context.RequestAborted);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        foreach (var chunk in Wire.Chunks(echo, Chunks))
        {
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + chunk + "\n\n"), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await context.Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), context.RequestAborted);
    }
}
