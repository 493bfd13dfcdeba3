using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Evaluation;

public class OpenAIStreamGuardTests
{
    private static readonly Gen<string> Secret = Gen.Elements(
        "jane.doe@example.org", "ops+alerts@mail.example.co.uk", "4111 1111 1111 1111", "5500005555555559", "ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM");

    private static readonly Gen<string> Words = Gen.Elements("the", "answer", "is", "below", "see", "thanks", "\n", "ok", "Grüße", "🙂")
        .ListOf().Select(w => string.Join(" ", w.Take(30)));

    private static string Chunk(string? content = null, string? role = null, string? finish = null, int index = 0, string? usage = null, string? toolArgs = null, string? toolId = null)
    {
        var delta = new JsonObject();
        if (role is not null)
        {
            delta["role"] = role;
        }

        if (content is not null)
        {
            delta["content"] = content;
        }

        if (toolArgs is not null)
        {
            var function = new JsonObject { ["arguments"] = toolArgs };
            var call = new JsonObject { ["index"] = 0 };
            if (toolId is not null)
            {
                call["id"] = toolId;
                call["type"] = "function";
                function["name"] = "send_mail";
            }

            call["function"] = function;
            delta["tool_calls"] = new JsonArray(call);
        }

        var chunk = new JsonObject
        {
            ["id"] = "chatcmpl-1",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1700000000,
            ["model"] = "gpt-4o",
            ["system_fingerprint"] = "fp_x",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = index, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        };
        if (usage is not null)
        {
            chunk["usage"] = JsonNode.Parse(usage);
        }

        return chunk.ToJsonString();
    }

    private static async Task<(List<JsonObject> Chunks, DecisionRecord? Blocked)> RunAsync(PolicyEngine engine, IEnumerable<string> upstream, bool stripUsage = false)
    {
        await using var exchange = engine.BeginExchange();
        var guard = new OpenAIStreamGuard(exchange, stripUsage);
        var emitted = new List<JsonObject>();
        foreach (var payload in upstream)
        {
            var step = await guard.ProcessAsync(Encoding.UTF8.GetBytes(payload));
            emitted.AddRange(step.Emit.Select(e => JsonNode.Parse(e.Span)!.AsObject()));
            if (step.Blocked is { } blocked)
            {
                return (emitted, blocked);
            }
        }

        var end = await guard.CompleteAsync();
        emitted.AddRange(end.Emit.Select(e => JsonNode.Parse(e.Span)!.AsObject()));
        return (emitted, end.Blocked);
    }

    private static string Text(IEnumerable<JsonObject> chunks) => string.Concat(chunks
        .SelectMany(c => c["choices"]!.AsArray())
        .Select(c => (string?)c!["delta"]?["content"] ?? string.Empty));

    private static List<string> Split(string text, IEnumerable<int> points)
    {
        var cuts = points.Where(p => p > 0 && p < text.Length).Distinct().Order().ToList();
        var parts = new List<string>();
        var last = 0;
        foreach (var cut in cuts)
        {
            if (char.IsLowSurrogate(text[cut]))
            {
                continue;
            }

            parts.Add(text[last..cut]);
            last = cut;
        }

        parts.Add(text[last..]);
        return parts;
    }

    [Fact]
    public void For_any_split_of_a_streamed_answer_the_caller_never_receives_the_secret_and_gets_the_whole_redacted_text()
    {
        var cases =
            from before in Words
            from secret in Secret
            from after in Words
            from points in Gen.Choose(0, 400).ListOf()
            select (Text: before + " " + secret + " " + after, Secret: secret, Points: points.Take(15).ToList());

        Properties.ForAll(cases, c =>
        {
            using var engine = new EngineScope(SinglePolicy.Engine("pii-detector", "action: redact"));
            var parts = Split(c.Text, c.Points);
            var upstream = new List<string> { Chunk(content: string.Empty, role: "assistant") };
            upstream.AddRange(parts.Select(p => Chunk(content: p)));
            upstream.Add(Chunk(finish: "stop"));

            var (chunks, blocked) = RunAsync(engine.Engine, upstream).GetAwaiter().GetResult();

            Assert.Null(blocked);
            var text = Text(chunks);
            Assert.DoesNotContain(c.Secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(c.Secret.Replace(" ", string.Empty, StringComparison.Ordinal), text.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
            var whole = engine.Engine.EvaluateTextAsync(c.Text, PolicyPhase.Output).AsTask().GetAwaiter().GetResult();
            Assert.Equal(whole.Texts[0], text);
            Assert.Equal("stop", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
            Assert.All(chunks.SkipLast(1), ch => Assert.Null((string?)ch["choices"]![0]!["finish_reason"]));
            Assert.All(chunks, ch => Assert.Equal("chatcmpl-1", (string?)ch["id"]));
        }, maxTest: 150);
    }

    [Fact]
    public async Task Unknown_fields_of_each_chunk_pass_through()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        var chunk = JsonNode.Parse(Chunk(content: "hello there, this is a fine and long enough answer with nothing secret in it at all, really nothing"))!.AsObject();
        chunk["x_vendor"] = new JsonObject { ["a"] = 1 };
        chunk["choices"]![0]!["delta"]!["x_delta"] = "keep";

        var (chunks, _) = await RunAsync(engine, [chunk.ToJsonString()]);

        Assert.Equal(1, (int)chunks[0]["x_vendor"]!["a"]!);
        Assert.Equal("keep", (string?)chunks[0]["choices"]![0]!["delta"]!["x_delta"]);
    }

    [Fact]
    public async Task A_block_mid_stream_emits_nothing_more_and_returns_the_record()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: block");
        var upstream = new[] { Chunk(role: "assistant", content: string.Empty), Chunk(content: "write to jane.d"), Chunk(content: "oe@example.org now please"), Chunk(finish: "stop") };

        var (chunks, blocked) = await RunAsync(engine, upstream);

        Assert.NotNull(blocked);
        Assert.Equal("pii-detector", blocked!.BlockedBy);
        Assert.DoesNotContain("jane", Text(chunks), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_is_reported_to_the_exchange_and_held_until_after_the_final_text()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        var usage = """{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}""";
        var usageOnly = $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{{usage}}}""";
        var upstream = new[] { Chunk(role: "assistant", content: "short answer"), Chunk(finish: "stop"), usageOnly };

        var (chunks, _) = await RunAsync(engine, upstream);

        Assert.Equal("short answer", Text(chunks));
        Assert.Equal(18, (int)chunks[^1]["usage"]!["total_tokens"]!);
        Assert.Equal("stop", (string?)chunks[^2]["choices"]![0]!["finish_reason"]);

        var (stripped, _) = await RunAsync(engine, upstream, stripUsage: true);
        Assert.All(stripped, c => Assert.Null(c["usage"]));
        Assert.Equal("short answer", Text(stripped));
    }

    [Fact]
    public async Task Tool_call_arguments_are_guarded_across_deltas_and_keep_the_call_identity()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        var upstream = new[]
        {
            Chunk(role: "assistant", toolArgs: string.Empty, toolId: "call_1"),
            Chunk(toolArgs: "{\"to\":\"jane.d"),
            Chunk(toolArgs: "oe@example.org\",\"body\":\"hi\"}"),
            Chunk(finish: "tool_calls"),
        };

        var (chunks, blocked) = await RunAsync(engine, upstream);

        Assert.Null(blocked);
        var calls = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?["tool_calls"]).OfType<JsonArray>().SelectMany(a => a).ToList();
        Assert.Equal("call_1", (string?)calls[0]!["id"]);
        Assert.Equal("send_mail", (string?)calls[0]!["function"]!["name"]);
        var arguments = string.Concat(calls.Select(c => (string?)c!["function"]?["arguments"] ?? string.Empty));
        Assert.DoesNotContain("jane.doe@example.org", arguments, StringComparison.Ordinal);
        Assert.StartsWith("{\"to\":\"", arguments, StringComparison.Ordinal);
        Assert.Equal("tool_calls", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task An_upstream_error_event_is_passed_on_at_once()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        await using var exchange = engine.BeginExchange();
        var guard = new OpenAIStreamGuard(exchange);

        var step = await guard.ProcessAsync(Encoding.UTF8.GetBytes("""{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}"""));

        Assert.Null(step.Blocked);
        Assert.Equal("overloaded", (string?)JsonNode.Parse(Assert.Single(step.Emit).Span)!["error"]!["message"]);
    }

    [Fact]
    public void Request_usage_is_added_once_and_keeps_every_other_field()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m","stream":true,"x":{"y":[1,2]},"stream_options":{"other":1},"messages":[]}""");

        var changed = OpenAIStreamGuard.RequestUsage(body, out var added);
        var again = OpenAIStreamGuard.RequestUsage(changed, out var addedAgain);

        Assert.True(added);
        Assert.False(addedAgain);
        var json = JsonNode.Parse(changed.Span)!;
        Assert.True((bool)json["stream_options"]!["include_usage"]!);
        Assert.Equal(1, (int)json["stream_options"]!["other"]!);
        Assert.Equal(2, (int)json["x"]!["y"]![1]!);
        Assert.Equal(changed.ToArray(), again.ToArray());
    }

    [Fact]
    public async Task A_chunk_that_is_not_a_json_object_is_rejected_with_a_json_exception()
    {
        await using var engine = SinglePolicy.Engine("pii-detector", "action: redact");
        await using var exchange = engine.BeginExchange();
        var guard = new OpenAIStreamGuard(exchange);

        await Assert.ThrowsAnyAsync<JsonException>(async () => await guard.ProcessAsync(Encoding.UTF8.GetBytes("[1]")));
        await Assert.ThrowsAnyAsync<JsonException>(async () => await guard.ProcessAsync(Encoding.UTF8.GetBytes("{\"choices\":")));
    }

    [Fact]
    public void Decision_errors_name_the_policy_and_use_openai_shape()
    {
        var record = new DecisionRecord { Id = "d1", Decision = PolicyDecision.Block, BlockedBy = "pii-detector", Reason = "an email address", Code = "pii_detected", Status = 400 };

        var (status, body) = OpenAIErrors.ForDecision(record);

        Assert.Equal(400, status);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal("pii_detected", (string?)error["code"]);
        Assert.Equal("pii-detector", (string?)error["policy"]);
        Assert.Equal("d1", (string?)error["decision_id"]);
        Assert.Contains("pii-detector", (string?)error["message"], StringComparison.Ordinal);
        Assert.Null((string?)error["param"]);
    }

    private sealed class EngineScope(PolicyEngine engine) : IDisposable
    {
        public PolicyEngine Engine { get; } = engine;

        public void Dispose() => Engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
