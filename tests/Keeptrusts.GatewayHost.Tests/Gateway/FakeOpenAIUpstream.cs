using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary>
/// An OpenAI-compatible upstream on 127.0.0.1: answers <c>POST /v1/chat/completions</c> with the last user message
/// as the assistant's answer, records every prompt it was sent, and can hold answers until released.
/// </summary>
internal sealed class FakeOpenAIUpstream : IAsyncDisposable
{
    private readonly FakeHttpServer _server;
    private TaskCompletionSource _release = CompletedGate();

    private FakeOpenAIUpstream(FakeHttpServer server) => _server = server;

    /// <summary>The last user message of every chat request received, in order.</summary>
    public ConcurrentQueue<string> Prompts { get; } = new();

    /// <summary>The messages of every chat request received, as JSON, in order.</summary>
    public ConcurrentQueue<string> Messages { get; } = new();

    /// <summary>Completed each time a chat request arrives.</summary>
    public SemaphoreSlim Arrived { get; } = new(0);

    public Uri BaseUrl => _server.BaseUrl;

    /// <summary>Every request received: method, path and headers.</summary>
    public ConcurrentQueue<(string Method, string Path, IHeaderDictionary Headers)> Requests => _server.Requests;

    public static async Task<FakeOpenAIUpstream> StartAsync()
    {
        FakeOpenAIUpstream? upstream = null;
        var server = await FakeHttpServer.StartAsync(context => upstream!.HandleAsync(context));
        upstream = new FakeOpenAIUpstream(server);
        return upstream;
    }

    /// <summary>From now on, answers wait until <see cref="Release"/>.</summary>
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
        if (context.Request.Path == "/v1/models")
        {
            await context.Response.WriteAsJsonAsync(new { @object = "list", data = new[] { new { id = "gpt-test", @object = "model" } } });
            return;
        }

        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var prompt = request.RootElement.GetProperty("messages").EnumerateArray().Last(static m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString() ?? string.Empty;
        Prompts.Enqueue(prompt);
        Messages.Enqueue(request.RootElement.GetProperty("messages").GetRawText());
        Arrived.Release();
        await Volatile.Read(ref _release).Task.WaitAsync(TimeSpan.FromSeconds(60));
        await context.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-test",
            @object = "chat.completion",
            created = 1_700_000_000,
            model = request.RootElement.GetProperty("model").GetString(),
            choices = new[] { new { index = 0, message = new { role = "assistant", content = "You said: " + prompt }, finish_reason = "stop" } },
            usage = new { prompt_tokens = 10, completion_tokens = 10, total_tokens = 20 },
        });
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}
