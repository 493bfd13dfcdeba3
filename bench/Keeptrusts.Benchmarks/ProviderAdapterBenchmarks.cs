using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using Keeptrusts.Providers.Anthropic;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Benchmarks;

/// <summary>
/// What the adapters add to an attempt besides the network: setting the model in an OpenAI body (2 KB and 64 KB),
/// reading a 300-event OpenAI SSE stream into payloads, and translating a 300-delta Anthropic stream into chunks.
/// </summary>
[MemoryDiagnoser]
public class ProviderAdapterBenchmarks
{
    private byte[] _smallBody = [];
    private byte[] _largeBody = [];
    private byte[] _openAiStream = [];
    private byte[] _anthropicStream = [];

    [GlobalSetup]
    public void Setup()
    {
        _smallBody = Body(2 * 1024);
        _largeBody = Body(64 * 1024);

        var openAi = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            openAi.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1741000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token")
                .Append(i).Append("\"},\"finish_reason\":null}]}\n\n");
        }

        openAi.Append("data: [DONE]\n\n");
        _openAiStream = Encoding.UTF8.GetBytes(openAi.ToString());

        var anthropic = new StringBuilder("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
        anthropic.Append("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        for (var i = 0; i < 300; i++)
        {
            anthropic.Append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token").Append(i).Append("\"}}\n\n");
        }

        anthropic.Append("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":300}}\n\n");
        anthropic.Append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        _anthropicStream = Encoding.UTF8.GetBytes(anthropic.ToString());
    }

    [Benchmark]
    public int RewriteModel2Kb() => ModelRewriter.Rewrite(_smallBody, "gpt-4o-mini").Length;

    [Benchmark]
    public int RewriteModel64Kb() => ModelRewriter.Rewrite(_largeBody, "gpt-4o-mini").Length;

    [Benchmark]
    public async Task<int> ReadOpenAIStream()
    {
        var reader = new SseReader(PipeReader.Create(new MemoryStream(_openAiStream)), 1 << 20);
        var count = 0;
        while (await reader.ReadAsync(CancellationToken.None) is { } evt)
        {
            count += evt.Data.Length;
        }

        return count;
    }

    [Benchmark]
    public async Task<int> TranslateAnthropicStream()
    {
        var reader = new SseReader(PipeReader.Create(new MemoryStream(_anthropicStream)), 1 << 20);
        var translator = new AnthropicStreamTranslator(includeUsage: true, "claude", TimeProvider.System);
        var count = 0;
        await foreach (var chunk in translator.TranslateAsync(reader, CancellationToken.None))
        {
            count += chunk.Length;
        }

        return count;
    }

    private static byte[] Body(int size)
    {
        var text = new StringBuilder("{\"model\":\"gpt-4o\",\"messages\":[");
        var i = 0;
        while (text.Length < size)
        {
            text.Append(i == 0 ? "" : ",").Append("{\"role\":\"user\",\"content\":\"Please summarise the quarterly figures for region ").Append(i++).Append(" in two sentences.\"}");
        }

        return Encoding.UTF8.GetBytes(text.Append("],\"temperature\":0.2,\"stream\":false}").ToString());
    }
}
