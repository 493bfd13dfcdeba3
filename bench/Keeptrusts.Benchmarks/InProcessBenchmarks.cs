using System.Net;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Keeptrusts.HttpHandler;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Providers.ChatClient;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// What the in-process surfaces add to a call: a 4 KB conversation (system prompt, six turns) through an HttpClient
/// and through an IChatClient whose inner end answers from memory, without and with Keeptrusts, plus the same two
/// evaluations (request, answer) straight through the engine. The surfaces' own cost is measured twice: with an
/// empty chain (everything but the policies: reading, exchange, record, rewrite), and as with − without − engine.
/// </summary>
[MemoryDiagnoser]
public class InProcessBenchmarks
{
    private const string Config = """
        pack: {name: bench, version: 1.0.0}
        policies:
          chain: [pii-detector, prompt-injection]
        policy:
          pii-detector: {action: redact}
          prompt-injection: {action: block}
        """;

    private static readonly string[] Sentences =
    [
        "Please summarise the quarterly report for the leadership team in three bullet points. ",
        "The data pipeline latency improved after we moved the cache closer to our users. ",
        "Write a friendly email to the team about the release schedule for next week. ",
        "Explain the trade-offs between a relational database and a document store for this workload. ",
    ];

    private PolicyEngine _engine = null!;
    private PolicyEngine _emptyEngine = null!;
    private HttpClient _emptyHttp = null!;
    private IChatClient _emptyChat = null!;
    private byte[] _request = [];
    private byte[] _response = [];
    private HttpClient _plainHttp = null!;
    private HttpClient _guardedHttp = null!;
    private List<ChatMessage> _messages = [];
    private IChatClient _plainChat = null!;
    private IChatClient _guardedChat = null!;
    private string _answer = "";

    [GlobalSetup]
    public void Setup()
    {
        var loaded = PolicyConfigLoader.Parse(Config);
        _engine = PolicyEngine.Create(loaded.Config ?? throw new InvalidOperationException(string.Join("\n", loaded.Diagnostics)));

        var turns = new List<(string Role, string Text)> { ("system", "You are a concise assistant for an engineering team.") };
        for (var i = 0; i < 6; i++)
        {
            turns.Add((i % 2 == 0 ? "user" : "assistant", Prose(640, i)));
        }

        _request = JsonSerializer.SerializeToUtf8Bytes(new { model = "gpt-4o-mini", messages = turns.Select(t => new { role = t.Role, content = t.Text }) });
        var answer = _answer = Prose(600, 7);
        _response = JsonSerializer.SerializeToUtf8Bytes(new
        {
            id = "chatcmpl-1",
            @object = "chat.completion",
            created = 1,
            model = "gpt-4o-mini",
            choices = new[] { new { index = 0, message = new { role = "assistant", content = answer }, finish_reason = "stop" } },
            usage = new { prompt_tokens = 900, completion_tokens = 150, total_tokens = 1050 },
        });

        _emptyEngine = PolicyEngine.Create(PolicyConfigLoader.Parse("pack: {name: empty, version: 1.0.0}\npolicies:\n  chain: []\n").Config!);
        _emptyHttp = new HttpClient(new KeeptrustsPolicyHandler(_emptyEngine) { InnerHandler = new MemoryProvider(_response) });
        _plainHttp = new HttpClient(new MemoryProvider(_response));
        _guardedHttp = new HttpClient(new KeeptrustsPolicyHandler(_engine) { InnerHandler = new MemoryProvider(_response) });

        _messages = turns.Select(t => new ChatMessage(new ChatRole(t.Role), t.Text)).ToList();
        var inner = new MemoryChatClient(answer);
        _plainChat = inner;
        _guardedChat = inner.UseKeeptrusts(engine: _engine);
        _emptyChat = inner.UseKeeptrusts(engine: _emptyEngine);

        if (HttpWithKeeptrusts() != HttpWithout() || ChatWithKeeptrusts() != ChatWithout() || EngineOnly() != PolicyDecision.Allow)
        {
            throw new InvalidOperationException("The guarded answer differs from the plain one: the benchmark input is not clean.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plainHttp.Dispose();
        _guardedHttp.Dispose();
        _emptyHttp.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int HttpWithout() => Send(_plainHttp);

    [Benchmark]
    public int HttpWithKeeptrusts() => Send(_guardedHttp);

    [Benchmark]
    public int HttpWithKeeptrustsNoPolicies() => Send(_emptyHttp);

    [Benchmark]
    public PolicyDecision EngineOnly()
    {
        var exchange = _engine.BeginExchange();
        try
        {
            var input = exchange.EvaluateRequestAsync(_request).AsTask().GetAwaiter().GetResult();
            var output = exchange.EvaluateResponseAsync(_response).AsTask().GetAwaiter().GetResult();
            return input.Decision > output.Decision ? input.Decision : output.Decision;
        }
        finally
        {
            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [Benchmark]
    public int ChatWithout() => _plainChat.GetResponseAsync(_messages).GetAwaiter().GetResult().Text.Length;

    [Benchmark]
    public int ChatWithKeeptrusts() => _guardedChat.GetResponseAsync(_messages).GetAwaiter().GetResult().Text.Length;

    [Benchmark]
    public int ChatWithKeeptrustsNoPolicies() => _emptyChat.GetResponseAsync(_messages).GetAwaiter().GetResult().Text.Length;

    [Benchmark]
    public PolicyDecision ChatEngineOnly()
    {
        var exchange = _engine.BeginExchange();
        try
        {
            var texts = new ExchangeText[_messages.Count];
            for (var i = 0; i < texts.Length; i++)
            {
                texts[i] = new ExchangeText(_messages[i].Role.Value, ExchangeTextKind.Content, i, _messages[i].Text);
            }

            var input = exchange.EvaluateTextsAsync(PolicyPhase.Input, texts).AsTask().GetAwaiter().GetResult();
            var output = exchange.EvaluateTextsAsync(PolicyPhase.Output, [new ExchangeText("assistant", ExchangeTextKind.Content, 0, _answer)]).AsTask().GetAwaiter().GetResult();
            return input.Decision > output.Decision ? input.Decision : output.Decision;
        }
        finally
        {
            exchange.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private int Send(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://provider.local/v1/chat/completions") { Content = new ByteArrayContent(_request) };
        request.Content.Headers.ContentType = new("application/json");
        using var response = client.Send(request);
        using var stream = response.Content.ReadAsStream();
        var total = 0;
        Span<byte> buffer = stackalloc byte[4096];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static string Prose(int length, int seed)
    {
        var builder = new StringBuilder(length + 128);
        for (var i = seed; builder.Length < length; i++)
        {
            builder.Append(Sentences[i % Sentences.Length]);
        }

        return builder.ToString(0, length);
    }

    /// <summary>Reads the request body, as a transport would, and answers with a fixed completion.</summary>
    private sealed class MemoryProvider(byte[] response) : HttpMessageHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Content!.ReadAsStream(cancellationToken).CopyTo(Stream.Null);
            var content = new ByteArrayContent(response);
            content.Headers.ContentType = new("application/json");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Send(request, cancellationToken));
    }

    private sealed class MemoryChatClient(string answer) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, answer)) { Usage = new UsageDetails { InputTokenCount = 900, OutputTokenCount = 150 } });

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
