using System.Net;
using System.Text;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>The echo target, in-process: answers an OpenAI chat request with its last user message, streamed when asked.</summary>
internal sealed class EchoProvider : HttpMessageHandler
{
    public int[] Chunks { get; set; } = [1000];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        var echo = Wire.LastUser(body);
        if (!System.Text.Json.Nodes.JsonNode.Parse(body)!["stream"]?.GetValue<bool>() ?? true)
        {
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Wire.Completion(echo), Encoding.UTF8, "application/json") };
        }

        var content = new StringContent(Wire.EventStream(echo, Chunks), Encoding.UTF8);
        content.Headers.ContentType = new("text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }
}
