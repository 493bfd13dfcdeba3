using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>
/// An OpenAI-compatible upstream on 127.0.0.1 (real Kestrel, ephemeral port) whose answers a test scripts with
/// <see cref="Handler"/>. It records every chat-completions request it receives.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private FakeUpstream(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    /// <summary>Answers <c>POST /v1/chat/completions</c>; the parsed request body is passed along. Default: echo the last user message.</summary>
    public Func<HttpContext, JsonObject, Task> Handler { get; set; } = EchoCompletion;

    /// <summary>How many chat-completions requests arrived.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The bodies received, in order.</summary>
    public ConcurrentQueue<string> Bodies { get; } = new();

    /// <summary>The Authorization headers received, in order.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeUpstream? upstream = null;
        app.MapPost("/v1/chat/completions", async http =>
        {
            Interlocked.Increment(ref upstream!._requests);
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(http.RequestAborted);
            upstream.Bodies.Enqueue(text);
            upstream.Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
            await upstream.Handler(http, JsonNode.Parse(text)!.AsObject());
        });
        app.MapGet("/v1/models", static http => http.Response.WriteAsJsonAsync(new { @object = "list", data = Array.Empty<object>() }));
        await app.StartAsync(Patience.Token());
        upstream = new FakeUpstream(app, app.Urls.First());
        return upstream;
    }

    /// <summary>The last user message of a request, as text.</summary>
    public static string LastUserText(JsonObject request) =>
        request["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();

    /// <summary>Answers with the last user message (non-streamed) or its characters in chunks of five (streamed).</summary>
    public static Task EchoCompletion(HttpContext http, JsonObject request)
    {
        var text = LastUserText(request);
        return request["stream"]?.GetValue<bool>() == true
            ? StreamChunks(http, request, Split(text, 5))
            : Completion(http, request, text);
    }

    public static Task Completion(HttpContext http, JsonObject request, string content)
    {
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-test",
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = (string?)request["model"] ?? "unknown",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 11, ["completion_tokens"] = 7, ["total_tokens"] = 18 },
        };
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>Streams <paramref name="deltas"/> as chat.completion.chunk events, then usage when asked for, then [DONE].</summary>
    public static Task StreamChunks(HttpContext http, JsonObject request, IReadOnlyList<string> deltas) =>
        StreamRaw(http, SseText(request, deltas), writeSizes: null);

    /// <summary>Writes an SSE text in pieces of the given sizes, flushing after each, so events split across TCP writes.</summary>
    public static async Task StreamRaw(HttpContext http, string sse, IReadOnlyList<int>? writeSizes, Func<int, Task>? beforeWrite = null)
    {
        http.Response.ContentType = "text/event-stream";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var bytes = Encoding.UTF8.GetBytes(sse);
        var offset = 0;
        var piece = 0;
        while (offset < bytes.Length)
        {
            var size = writeSizes is { Count: > 0 } ? Math.Max(1, writeSizes[piece % writeSizes.Count]) : bytes.Length;
            size = Math.Min(size, bytes.Length - offset);
            if (beforeWrite is not null)
            {
                await beforeWrite(piece);
            }

            await http.Response.Body.WriteAsync(bytes.AsMemory(offset, size), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            offset += size;
            piece++;
        }
    }

    public static string SseText(JsonObject request, IReadOnlyList<string> deltas)
    {
        var model = (string?)request["model"] ?? "unknown";
        var sse = new StringBuilder();
        sse.Append("data: ").Append(Chunk(model, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null)).Append("\n\n");
        foreach (var delta in deltas)
        {
            sse.Append("data: ").Append(Chunk(model, new JsonObject { ["content"] = delta }, null)).Append("\n\n");
        }

        sse.Append("data: ").Append(Chunk(model, new JsonObject(), "stop")).Append("\n\n");
        if (request["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            var usage = new JsonObject
            {
                ["id"] = "chatcmpl-test",
                ["object"] = "chat.completion.chunk",
                ["created"] = 1_700_000_000,
                ["model"] = model,
                ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 11, ["completion_tokens"] = deltas.Count, ["total_tokens"] = 11 + deltas.Count },
            };
            sse.Append("data: ").Append(usage.ToJsonString()).Append("\n\n");
        }

        sse.Append("data: [DONE]\n\n");
        return sse.ToString();
    }

    public static string Chunk(string model, JsonObject delta, string? finishReason) => new JsonObject
    {
        ["id"] = "chatcmpl-test",
        ["object"] = "chat.completion.chunk",
        ["created"] = 1_700_000_000,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = delta,
            ["finish_reason"] = finishReason,
        }),
    }.ToJsonString();

    public static IReadOnlyList<string> Split(string text, int size)
    {
        var parts = new List<string>();
        for (var i = 0; i < text.Length; i += size)
        {
            parts.Add(text.Substring(i, Math.Min(size, text.Length - i)));
        }

        return parts;
    }

    /// <summary>An OpenAI error answer.</summary>
    public static Task Error(HttpContext http, int status, string type, string message, string? retryAfter = null)
    {
        http.Response.StatusCode = status;
        if (retryAfter is not null)
        {
            http.Response.Headers.RetryAfter = retryAfter;
        }

        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code = (string?)null } }));
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Patience.Limit);
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
