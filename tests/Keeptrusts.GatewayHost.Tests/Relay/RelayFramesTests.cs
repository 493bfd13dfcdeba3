using System.Buffers;
using System.Text;
using System.Text.Json;
using Keeptrusts.GatewayHost.Relay;

namespace Keeptrusts.GatewayHost.Tests.Relay;

public sealed class RelayFramesTests
{
    [Fact]
    public void Reads_a_request_with_headers_and_a_base64_body()
    {
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"model\":\"m\"}"));
        var frame = Read($$"""{"type":"request","id":"r1","method":"POST","path":"/v1/chat/completions?x=1","headers":{"Content-Type":"application/json","X-Many":["a","b"]},"body":"{{body}}"}""");

        Assert.NotNull(frame);
        Assert.Equal(RelayFrameKind.Request, frame.Kind);
        Assert.Equal("r1", frame.Id);
        Assert.Equal("POST", frame.Method);
        Assert.Equal("/v1/chat/completions?x=1", frame.Path);
        Assert.Equal("{\"model\":\"m\"}", Encoding.UTF8.GetString(frame.Body));
        Assert.Equal(new[] { "Content-Type:application/json", "X-Many:a", "X-Many:b" }, frame.Headers.Select(static h => h.Key + ":" + h.Value));
    }

    [Fact]
    public void Reads_cancel_registered_and_unknown_frames()
    {
        Assert.Equal(RelayFrameKind.Cancel, Read("""{"type":"cancel","id":"r9"}""")!.Kind);
        Assert.Equal("s1", Read("""{"type":"registered","session_id":"s1"}""")!.SessionId);
        Assert.Equal(RelayFrameKind.Unknown, Read("""{"type":"future_thing","id":"r1"}""")!.Kind);
    }

    [Theory]
    [InlineData("{not json", null, "not a JSON document")]
    [InlineData("[1,2]", null, "not a JSON object")]
    [InlineData("{\"id\":\"r1\"}", "r1", "no \"type\" string")]
    [InlineData("{\"type\":\"request\",\"method\":\"POST\",\"path\":\"/\"}", null, "request without a valid \"id\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"\",\"method\":\"POST\",\"path\":\"/\"}", null, "request without a valid \"id\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"path\":\"/\"}", "r1", "request \"method\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"PO ST\",\"path\":\"/\"}", "r1", "request \"method\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"http://evil.example/\"}", "r1", "request \"path\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"//evil.example/x\"}", "r1", "request \"path\"")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"/\",\"headers\":[1]}", "r1", "request \"headers\" is not an object")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"/\",\"headers\":{\"X\":1}}", "r1", "request header values")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"/\",\"headers\":{\"X\":\"a\\r\\nEvil: 1\"}}", "r1", "a request header value contains a line break")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"/\",\"headers\":{\"Bad Name\":\"a\"}}", "r1", "request \"headers\" has a name")]
    [InlineData("{\"type\":\"request\",\"id\":\"r1\",\"method\":\"POST\",\"path\":\"/\",\"body\":\"***\"}", "r1", "request \"body\" is not base64")]
    [InlineData("{\"type\":\"cancel\"}", null, "cancel without a valid \"id\"")]
    public void Malformed_frames_come_back_as_a_problem_with_the_id_when_readable(string json, string? id, string problem)
    {
        var frame = RelayFrames.TryRead(Encoding.UTF8.GetBytes(json), out var readId, out var readProblem);

        Assert.Null(frame);
        Assert.Equal(id, readId);
        Assert.StartsWith(problem, readProblem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"type\":\"request\",\"id\":\"r7\",\"method\":\"POST\",\"body\":\"AAAAAAAA", "r7")]
    [InlineData("{\"id\":\"r8\",\"type\":\"req", "r8")]
    [InlineData("{\"type\":\"request\",\"headers\":{\"id\":\"inner\"},\"id\":\"r9\"", "r9")]
    [InlineData("{\"type\":\"request\",\"body\":\"AAAA", null)]
    [InlineData("not json at all", null)]
    public void Finds_the_id_at_the_start_of_a_cut_off_frame(string prefix, string? id)
    {
        Assert.Equal(id, RelayFrames.TryReadId(Encoding.UTF8.GetBytes(prefix)));
    }

    [Fact]
    public void Writes_answer_frames_the_protocol_names()
    {
        var data = Enumerable.Range(0, 300).Select(static i => (byte)i).ToArray();
        using var start = Write(w => RelayFrames.WriteResponseStart(w, "r1", 200, [new("Content-Type", "text/event-stream")]));
        using var chunk = Write(w => RelayFrames.WriteResponseChunk(w, "r1", data));
        using var end = Write(w => RelayFrames.WriteResponseEnd(w, "r1"));
        using var error = Write(w => RelayFrames.WriteResponseError(w, "r1", "broke"));

        Assert.Equal("response_start", start.RootElement.GetProperty("type").GetString());
        Assert.Equal(200, start.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("text/event-stream", start.RootElement.GetProperty("headers").GetProperty("Content-Type").GetString());
        Assert.Equal(data, chunk.RootElement.GetProperty("data").GetBytesFromBase64());
        Assert.Equal("response_end", end.RootElement.GetProperty("type").GetString());
        Assert.Equal("broke", error.RootElement.GetProperty("message").GetString());
        Assert.All(new[] { start, chunk, end, error }, static d => Assert.Equal("r1", d.RootElement.GetProperty("id").GetString()));
    }

    [Fact]
    public void The_register_frame_names_the_registration_instance_and_version()
    {
        var options = new RelayOptions { Url = new Uri("ws://127.0.0.1:1/"), Token = "secret-token", RegistrationId = "rt_1", InstanceId = "i1", GatewayVersion = "0.1.0" };
        using var register = Write(w => RelayFrames.WriteRegister(w, options));

        Assert.Equal("""{"type":"register","runtime_registration_id":"rt_1","instance_id":"i1","gateway_version":"0.1.0"}""", register.RootElement.GetRawText());
        Assert.DoesNotContain("secret-token", options.ToString(), StringComparison.Ordinal);
    }

    private static RelayInboundFrame? Read(string json) => RelayFrames.TryRead(Encoding.UTF8.GetBytes(json), out _, out _);

    private static JsonDocument Write(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return JsonDocument.Parse(output.WrittenMemory);
    }
}
