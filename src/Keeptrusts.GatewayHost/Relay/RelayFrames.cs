using System.Buffers;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>The kinds of frame the control plane sends.</summary>
internal enum RelayFrameKind
{
    /// <summary>A frame with a <c>type</c> this gateway does not know; ignored so the protocol can grow.</summary>
    Unknown,
    Registered,
    Request,
    Cancel,
}

/// <summary>One frame from the control plane, read whole. Bodies are decoded; header values are strings.</summary>
internal sealed record RelayInboundFrame(RelayFrameKind Kind, string Type)
{
    public string? Id { get; init; }

    public string? SessionId { get; init; }

    public string Method { get; init; } = "GET";

    public string Path { get; init; } = "/";

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public byte[] Body { get; init; } = [];
}

/// <summary>
/// Reads and writes the relay's JSON text frames (docs/relay.md). Reading never throws on bad input: a frame that
/// cannot be understood comes back as a problem (and the request id, when one could be read, so it can be answered).
/// </summary>
internal static class RelayFrames
{
    /// <summary>The longest request id accepted.</summary>
    public const int MaxIdLength = 200;

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 8 };

    /// <summary>Parses one frame. On failure <paramref name="problem"/> says why (never quoting the frame) and <paramref name="id"/> is the request id if it was readable.</summary>
    public static RelayInboundFrame? TryRead(ReadOnlyMemory<byte> utf8, out string? id, out string? problem)
    {
        id = null;
        problem = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, ReadOptions);
        }
        catch (JsonException)
        {
            id = TryReadId(utf8.Span);
            problem = "not a JSON document";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "not a JSON object";
                return null;
            }

            if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String && idElement.GetString() is { Length: > 0 and <= MaxIdLength } readId)
            {
                id = readId;
            }

            if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                problem = "no \"type\" string";
                return null;
            }

            var type = typeElement.GetString()!;
            switch (type)
            {
                case "registered":
                    return new RelayInboundFrame(RelayFrameKind.Registered, type)
                    {
                        SessionId = root.TryGetProperty("session_id", out var session) && session.ValueKind == JsonValueKind.String ? session.GetString() : null,
                    };
                case "cancel":
                    if (id is null)
                    {
                        problem = "cancel without a valid \"id\"";
                        return null;
                    }

                    return new RelayInboundFrame(RelayFrameKind.Cancel, type) { Id = id };
                case "request":
                    return ReadRequest(root, id, out problem);
                default:
                    return new RelayInboundFrame(RelayFrameKind.Unknown, type.Length > 40 ? type[..40] : type) { Id = id };
            }
        }
    }

    private static RelayInboundFrame? ReadRequest(JsonElement root, string? id, out string? problem)
    {
        problem = null;
        if (id is null)
        {
            problem = $"request without a valid \"id\" (a string of 1 to {MaxIdLength} characters)";
            return null;
        }

        if (!root.TryGetProperty("method", out var methodElement) || methodElement.ValueKind != JsonValueKind.String || methodElement.GetString() is not { Length: > 0 and <= 20 } method || !IsToken(method))
        {
            problem = "request \"method\" is missing or not an HTTP method";
            return null;
        }

        if (!root.TryGetProperty("path", out var pathElement) || pathElement.ValueKind != JsonValueKind.String || pathElement.GetString() is not { } path || !IsOriginPath(path))
        {
            problem = "request \"path\" is missing or not an absolute path (it must start with one '/')";
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>();
        if (root.TryGetProperty("headers", out var headersElement) && headersElement.ValueKind != JsonValueKind.Null)
        {
            if (headersElement.ValueKind != JsonValueKind.Object)
            {
                problem = "request \"headers\" is not an object";
                return null;
            }

            foreach (var header in headersElement.EnumerateObject())
            {
                if (!IsToken(header.Name))
                {
                    problem = "request \"headers\" has a name that is not an HTTP header name";
                    return null;
                }

                switch (header.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        headers.Add(new(header.Name, header.Value.GetString()!));
                        break;
                    case JsonValueKind.Array:
                        foreach (var value in header.Value.EnumerateArray())
                        {
                            if (value.ValueKind != JsonValueKind.String)
                            {
                                problem = "request header values must be strings or arrays of strings";
                                return null;
                            }

                            headers.Add(new(header.Name, value.GetString()!));
                        }

                        break;
                    default:
                        problem = "request header values must be strings or arrays of strings";
                        return null;
                }
            }
        }

        foreach (var (_, value) in headers)
        {
            if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                problem = "a request header value contains a line break";
                return null;
            }
        }

        byte[] body = [];
        if (root.TryGetProperty("body", out var bodyElement) && bodyElement.ValueKind != JsonValueKind.Null)
        {
            if (bodyElement.ValueKind != JsonValueKind.String || !bodyElement.TryGetBytesFromBase64(out var decoded))
            {
                problem = "request \"body\" is not base64";
                return null;
            }

            body = decoded;
        }

        return new RelayInboundFrame(RelayFrameKind.Request, "request") { Id = id, Method = method, Path = path, Headers = headers, Body = body };
    }

    /// <summary>Finds a top-level <c>"id"</c> string in the start of a frame that is cut off or broken, so its request can still be answered.</summary>
    public static string? TryReadId(ReadOnlySpan<byte> start)
    {
        var reader = new Utf8JsonReader(start, isFinalBlock: false, state: default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read())
            {
                if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isId = reader.ValueTextEquals("id"u8);
                    if (!reader.Read())
                    {
                        return null;
                    }

                    if (isId && reader.TokenType == JsonTokenType.String)
                    {
                        return reader.GetString() is { Length: > 0 and <= MaxIdLength } id ? id : null;
                    }
                }
                else if (reader.CurrentDepth == 1 && reader.TokenType is JsonTokenType.String && reader.ValueSpan.Length > 1024)
                {
                    return null;
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    public static void WriteRegister(IBufferWriter<byte> output, RelayOptions options)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type", "register");
        writer.WriteString("runtime_registration_id", options.RegistrationId);
        writer.WriteString("instance_id", options.InstanceId);
        writer.WriteString("gateway_version", options.GatewayVersion);
        writer.WriteEndObject();
    }

    public static void WriteResponseStart(IBufferWriter<byte> output, string id, int status, IEnumerable<KeyValuePair<string, string>> headers)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type", "response_start");
        writer.WriteString("id", id);
        writer.WriteNumber("status", status);
        writer.WriteStartObject("headers");
        foreach (var (name, value) in headers)
        {
            writer.WriteString(name, value);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static void WriteResponseChunk(IBufferWriter<byte> output, string id, ReadOnlySpan<byte> data)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type", "response_chunk");
        writer.WriteString("id", id);
        writer.WriteBase64String("data", data);
        writer.WriteEndObject();
    }

    public static void WriteResponseEnd(IBufferWriter<byte> output, string id)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type", "response_end");
        writer.WriteString("id", id);
        writer.WriteEndObject();
    }

    public static void WriteResponseError(IBufferWriter<byte> output, string id, string message)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type", "response_error");
        writer.WriteString("id", id);
        writer.WriteString("message", message);
        writer.WriteEndObject();
    }

    /// <summary>An OpenAI-shaped error body, for the answers the relay makes itself (502, 503, 504, 400, 413).</summary>
    public static byte[] ErrorBody(string message, string type, string code)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            writer.WriteString("type", type);
            writer.WriteNull("param");
            writer.WriteString("code", code);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    private static bool IsOriginPath(string path) =>
        path.Length is > 0 and <= 8 * 1024 && path[0] == '/' && (path.Length == 1 || path[1] != '/') && path.AsSpan().IndexOfAny("\r\n\0 #\\") < 0;

    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 0x7f || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return name.Length > 0;
    }
}
