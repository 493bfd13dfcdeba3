using System.Text.Json;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.File;

/// <summary>
/// Answers from a file read when the client is created: one JSON object returned as it is, or JSON Lines whose objects
/// are served in rotation. Streamed requests get the answer cut into chunks.
/// </summary>
internal sealed class FileProviderClient : IProviderClient
{
    private readonly IReadOnlyList<ReadOnlyMemory<byte>> _responses;
    private readonly TimeProvider _time;
    private long _next = -1;

    private FileProviderClient(IReadOnlyList<ReadOnlyMemory<byte>> responses, TimeProvider time)
    {
        _responses = responses;
        _time = time;
    }

    public string Path { get; private init; } = string.Empty;

    public int Count => _responses.Count;

    /// <summary>Loads the file. Throws <see cref="ProviderConfigurationException"/> when it is missing, too large, empty or not JSON objects.</summary>
    public static FileProviderClient Load(string targetId, string path, string workingDirectory, int maxBytes, TimeProvider time)
    {
        var fullPath = System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(workingDirectory, path));
        byte[] content;
        try
        {
            var info = new FileInfo(fullPath);
            if (!info.Exists)
            {
                throw new ProviderConfigurationException(targetId, $"target '{targetId}' answers from the file '{fullPath}', which does not exist (relative paths are resolved from '{workingDirectory}')");
            }

            if (info.Length > maxBytes)
            {
                throw new ProviderConfigurationException(targetId, $"target '{targetId}' answers from the file '{fullPath}', which is larger than {maxBytes} bytes");
            }

            content = System.IO.File.ReadAllBytes(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ProviderConfigurationException(targetId, $"target '{targetId}' answers from the file '{fullPath}', which cannot be read: {ex.Message}");
        }

        var responses = Parse(content, out var problem);
        return problem is null
            ? new FileProviderClient(responses, time) { Path = fullPath }
            : throw new ProviderConfigurationException(targetId, $"target '{targetId}' answers from the file '{fullPath}', but {problem}");
    }

    public ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var index = (int)((ulong)Interlocked.Increment(ref _next) % (ulong)_responses.Count);
        var answer = _responses[index];
        if (!request.Stream)
        {
            return ValueTask.FromResult(new ProviderResponse(200, answer));
        }

        var chunks = CompletionChunker.Chunk(answer, ChatRequestFlags.Read(request.Body.Span).IncludeUsage, request.Model, _time);
        return ValueTask.FromResult(new ProviderResponse(200, ReadOnlyMemory<byte>.Empty, ChunkSequence.From(chunks)));
    }

    public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    private static List<ReadOnlyMemory<byte>> Parse(ReadOnlyMemory<byte> content, out string? problem)
    {
        if (content.Span.StartsWith("\xEF\xBB\xBF"u8))
        {
            content = content[3..];
        }

        problem = null;
        if (IsObject(content.Span, out var isJson))
        {
            return [content.Trim(Whitespace())];
        }

        if (isJson)
        {
            problem = "it holds JSON that is not an object; it must hold one JSON object, or JSON Lines with one object per line";
            return [];
        }

        var responses = new List<ReadOnlyMemory<byte>>();
        var line = 0;
        var rest = content;
        while (!rest.IsEmpty)
        {
            line++;
            var end = rest.Span.IndexOf((byte)'\n');
            var current = (end < 0 ? rest : rest[..end]).Trim(Whitespace());
            rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
            if (current.IsEmpty)
            {
                continue;
            }

            if (!IsObject(current.Span, out _))
            {
                problem = $"line {line} is not a JSON object; it must hold one JSON object, or JSON Lines with one object per line";
                return [];
            }

            responses.Add(current);
        }

        if (responses.Count == 0)
        {
            problem = "it is empty";
        }

        return responses;
    }

    private static ReadOnlySpan<byte> Whitespace() => " \t\r\n"u8;

    private static bool IsObject(ReadOnlySpan<byte> json, out bool isJson)
    {
        isJson = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read())
            {
                return false;
            }

            var isObject = reader.TokenType == JsonTokenType.StartObject;
            reader.Skip();
            while (reader.Read())
            {
            }

            isJson = true;
            return isObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
