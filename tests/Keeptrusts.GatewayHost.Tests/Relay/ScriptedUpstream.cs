using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Tests.Gateway;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>
/// An OpenAI-compatible upstream on 127.0.0.1 for relay tests. JSON answers echo the prompt. Streamed answers are
/// SSE events, one per piece: the prompt <c>split-email</c> gets an address cut across two events; the prompt
/// <c>hang</c> sends one event and then waits until the caller goes away (<see cref="Aborted"/>). Answers can be held.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    public const string SplitEmail = "jane.doe@example.com";

    private readonly FakeHttpServer _server;
    private TaskCompletionSource _release = Completed();

    private ScriptedUpstream(FakeHttpServer server) => _server = server;

    public Uri BaseUrl => _server.BaseUrl;

    /// <summary>Released once per chat request that arrived.</summary>
    public SemaphoreSlim Arrived { get; } = new(0);

    public int ArrivedCount => Volatile.Read(ref _arrivedCount);

    /// <summary>Set when a <c>hang</c> stream has sent its first event.</summary>
    public TaskCompletionSource FirstEventSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the gateway aborted a <c>hang</c> stream.</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _arrivedCount;

    public static async Task<ScriptedUpstream> StartAsync()
    {
        ScriptedUpstream? upstream = null;
        var server = await FakeHttpServer.StartAsync(context => upstream!.HandleAsync(context));
        upstream = new ScriptedUpstream(server);
        return upstream;
    }

    public void Hold() => Volatile.Write(ref _release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Volatile.Read(ref _release).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _server.DisposeAsync();
        Arrived.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var root = request.RootElement;
        var prompt = root.GetProperty("messages").EnumerateArray().Last(static m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString() ?? string.Empty;
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        Interlocked.Increment(ref _arrivedCount);
        Arrived.Release();
        await Volatile.Read(ref _release).Task.WaitAsync(TimeSpan.FromSeconds(60));
        if (!stream)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-relay",
                @object = "chat.completion",
                created = 1_700_000_000,
                model = "gpt-test",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "You said: " + prompt }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 10, completion_tokens = 10, total_tokens = 20 },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        await context.Response.StartAsync();
        if (prompt == "hang")
        {
            // Long enough that the output guard releases most of it at once, so the caller sees the stream start.
            await WriteEventAsync(context, Delta(string.Concat(Enumerable.Repeat("Thinking it over. ", 200))));
            FirstEventSent.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(60), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Aborted.TrySetResult();
            }

            return;
        }

        var pieces = prompt == "split-email" ? new[] { "Write to jane.d", "oe@example.com", " today, please." } : new[] { "You said: ", prompt };
        foreach (var piece in pieces)
        {
            await WriteEventAsync(context, Delta(piece));
        }

        await WriteEventAsync(context, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static string Delta(string text) =>
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + JsonSerializer.Serialize(text) + "},\"finish_reason\":null}]}";

    private static async Task WriteEventAsync(HttpContext context, string json)
    {
        await context.Response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8);
        await context.Response.Body.FlushAsync();
    }

    private static TaskCompletionSource Completed()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}
