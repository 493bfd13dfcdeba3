using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Keeptrusts.Policy.Policies.EmbeddingDetector;

/// <summary>
/// Calls an OpenAI-compatible embeddings endpoint (<c>POST {"model", "input": [...]}</c> → <c>data[].embedding</c>)
/// with a per-call timeout, and caches vectors by a hash of their text so repeated prompts cost nothing. A slow or
/// failed call throws; the chain's fail mode decides what that means for the request.
/// </summary>
internal sealed class ExternalEmbedder(EmbeddingDetectorOptions options, Func<HttpClient> httpClient, Func<string, string?> environment, TimeProvider time)
{
    private readonly EmbeddingCache _cache = new(options.CacheSize);

    public async ValueTask<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var result = new float[texts.Count][];
        var missing = new List<int>();
        var keys = new string[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            keys[i] = Key(texts[i]);
            if (_cache.TryGet(keys[i], out var cached))
            {
                result[i] = cached;
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return result;
        }

        var fetched = await FetchAsync(missing.Select(i => texts[i]).ToList(), cancellationToken).ConfigureAwait(false);
        for (var m = 0; m < missing.Count; m++)
        {
            result[missing[m]] = fetched[m];
            _cache.Add(keys[missing[m]], fetched[m]);
        }

        return result;
    }

    private async Task<float[][]> FetchAsync(List<string> texts, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.TimeoutMs), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Endpoint) { Content = new ByteArrayContent(RequestBody(texts)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (options.SecretKeyRef is { Env: { } env })
        {
            var key = environment(env);
            if (string.IsNullOrEmpty(key))
            {
                throw new InvalidOperationException("the embedding endpoint's credential variable is not set");
            }

            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        else if (options.SecretKeyRef is { Store: not null })
        {
            throw new InvalidOperationException("store secret references need the control-plane resolver");
        }

        try
        {
            using var response = await httpClient().SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"the embedding endpoint answered {(int)response.StatusCode}", null, response.StatusCode);
            }

            var body = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            return Parse(body, texts.Count);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the embedding endpoint did not answer within {options.TimeoutMs} ms");
        }
    }

    private byte[] RequestBody(List<string> texts)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (options.Model is { } model)
            {
                writer.WriteString("model", model);
            }

            writer.WriteStartArray("input");
            foreach (var text in texts)
            {
                writer.WriteStringValue(text);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    internal static float[][] Parse(byte[] body, int expected)
    {
        using var document = JsonDocument.Parse(body);
        if (!document.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("the embedding response has no 'data' array");
        }

        var vectors = new float[expected][];
        var position = 0;
        foreach (var item in data.EnumerateArray())
        {
            var index = item.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : position;
            if ((uint)index >= (uint)expected || !item.TryGetProperty("embedding", out var embedding) || embedding.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("the embedding response has an item without a usable 'embedding'");
            }

            var vector = new float[embedding.GetArrayLength()];
            var d = 0;
            foreach (var value in embedding.EnumerateArray())
            {
                vector[d++] = value.GetSingle();
            }

            vectors[index] = Unit(vector);
            position++;
        }

        if (vectors.Any(static v => v is null))
        {
            throw new FormatException("the embedding response has fewer vectors than inputs");
        }

        return vectors;
    }

    private static float[] Unit(float[] vector)
    {
        double sum = 0;
        foreach (var v in vector)
        {
            sum += v * v;
        }

        if (sum > 0)
        {
            var scale = (float)(1 / Math.Sqrt(sum));
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] *= scale;
            }
        }

        return vector;
    }

    // The cache is keyed by a hash so it holds no prompt text.
    private static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>A small thread-safe least-recently-used cache of vectors.</summary>
internal sealed class EmbeddingCache(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, float[] Vector)>> _index = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, float[] Vector)> _order = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _index.Count;
            }
        }
    }

    public bool TryGet(string key, out float[] vector)
    {
        lock (_gate)
        {
            if (_index.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                vector = node.Value.Vector;
                return true;
            }
        }

        vector = [];
        return false;
    }

    public void Add(string key, float[] vector)
    {
        if (capacity <= 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_index.TryGetValue(key, out var existing))
            {
                _order.Remove(existing);
                _index.Remove(key);
            }

            _index[key] = _order.AddFirst((key, vector));
            while (_index.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _index.Remove(last.Value.Key);
            }
        }
    }
}
