using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Keeptrusts.Policy.Tests.Policies.EmbeddingDetector;

/// <summary>
/// An OpenAI-compatible embeddings endpoint on 127.0.0.1 for tests: it embeds each input as a bag of lowercase
/// words hashed into 64 dimensions, so equal wording gives equal vectors. Behaviour is switchable per test.
/// </summary>
internal sealed class FakeEmbeddingServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _requests;

    public FakeEmbeddingServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/v1/embeddings";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    public string? LastAuthorization { get; private set; }

    public string? LastModel { get; private set; }

    /// <summary>When set, the server answers with this status and no embeddings.</summary>
    public int? FailWith { get; set; }

    /// <summary>When set, the server waits this long before answering.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When set, the server answers with this raw body.</summary>
    public string? RawBody { get; set; }

    public static float[] BagOfWords(string text)
    {
        var vector = new float[64];
        foreach (var word in text.ToLowerInvariant().Split([' ', ',', '.', '!', '?', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            vector[(int)((uint)StringComparer.Ordinal.GetHashCode(word) % 64)] += 1;
        }

        return vector;
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        LastAuthorization = context.Request.Headers["Authorization"];
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.InputStream);
            LastModel = document.RootElement.GetProperty("model").GetString();
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, _stop.Token);
            }

            if (FailWith is { } status)
            {
                context.Response.StatusCode = status;
                context.Response.Close();
                return;
            }

            var body = RawBody ?? BuildBody(document.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString()!).ToList());
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
        }
    }

    private static string BuildBody(List<string> inputs)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            for (var i = inputs.Count - 1; i >= 0; i--)
            {
                // Reverse order on purpose: clients must place vectors by "index", not by position.
                writer.WriteStartObject();
                writer.WriteString("object", "embedding");
                writer.WriteNumber("index", i);
                writer.WriteStartArray("embedding");
                foreach (var v in BagOfWords(inputs[i]))
                {
                    writer.WriteNumberValue(v);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }
}
