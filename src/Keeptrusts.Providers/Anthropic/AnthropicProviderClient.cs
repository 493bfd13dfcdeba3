using System.Net.Http.Headers;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Http;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Streaming;

namespace Keeptrusts.Providers.Anthropic;

/// <summary>
/// An Anthropic Messages API upstream (<c>provider: anthropic</c>, <c>anthropic:claude-agent-sdk</c> without a runner,
/// or any target with <c>format: anthropic</c>): OpenAI chat requests are translated to <c>POST /v1/messages</c>,
/// answers, streams and errors back to OpenAI's shapes.
/// </summary>
internal sealed class AnthropicProviderClient(HttpTargetSettings settings) : HttpProviderClient(settings)
{
    public const string DefaultBaseUrl = "https://api.anthropic.com";

    protected override string ChatPath => "/v1/messages";

    protected override void AddFormatHeaders(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("anthropic-version", AnthropicWire.ApiVersion);

    protected override byte[] TranslateRequest(ProviderRequest request) => AnthropicRequestTranslator.Translate(request.Body, request.Model, request.Stream);

    protected override byte[] TranslateError(int statusCode, ReadOnlyMemory<byte> body)
        => AnthropicWire.TranslateError(statusCode, body.Span) ?? WrapError(statusCode, body.Span);

    protected override ReadOnlyMemory<byte> TranslateCompletion(ReadOnlyMemory<byte> body, ProviderRequest request)
        => AnthropicResponseTranslator.Translate(body, request.Model, Settings.Time);

    protected override IAsyncEnumerable<ReadOnlyMemory<byte>> TranslateStream(SseReader events, ProviderRequest request, CancellationToken cancellationToken)
        => new AnthropicStreamTranslator(ChatRequestFlags.Read(request.Body.Span).IncludeUsage, request.Model, Settings.Time).TranslateAsync(events, cancellationToken);
}
