using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Providers.Tests.TestSupport;

/// <summary>A request as the fake upstream received it.</summary>
internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A Kestrel server on 127.0.0.1 with an ephemeral port that answers with a handler written by the test.</summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Completes when a request has arrived (and has been recorded).</summary>
    public TaskCompletionSource<RecordedRequest> FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RecordedRequest Single() => Assert.Single(Requests);

    public static async Task<FakeUpstream> StartAsync(Func<HttpContext, RecordedRequest, Task> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeUpstream? self = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var recorded = new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body.ToArray());
            self!.Requests.Enqueue(recorded);
            self.FirstRequest.TrySetResult(recorded);
            await handler(context, recorded);
        });

        using var start = new CancellationTokenSource(Patience);
        await app.StartAsync(start.Token);
        self = new FakeUpstream(app, app.Urls.Single().TrimEnd('/'));
        return self;
    }

    /// <summary>An upstream that answers every request with a fixed status, content type and body.</summary>
    public static Task<FakeUpstream> RespondAsync(int status, string body, string contentType = "application/json", Action<HttpResponse>? headers = null)
        => StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            headers?.Invoke(context.Response);
            await context.Response.WriteAsync(body, context.RequestAborted);
        });

    /// <summary>An upstream that streams the given SSE text, flushing after each part.</summary>
    public static Task<FakeUpstream> StreamAsync(params string[] parts)
        => StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            foreach (var part in parts)
            {
                await context.Response.WriteAsync(part, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        });

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Patience);
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
