using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keeptrusts.Samples.HttpClientOpenAI;

/// <summary>
/// Stands in for an OpenAI-compatible API: answers each chat completion with the last user message it received,
/// streamed in small chunks when asked, as the gateway's echo target does.
/// </summary>
internal sealed class EchoProvider : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
        var text = body["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();
        if (body["stream"]?.GetValue<bool>() != true)
        {
            var completion = new { id = "echo-1", @object = "chat.completion", created = 0, model = "echo", choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } } };
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(completion), Encoding.UTF8, "application/json") };
        }

        var events = new StringBuilder();
        for (var i = 0; i < text.Length; i += 4)
        {
            var chunk = new { id = "echo-1", @object = "chat.completion.chunk", created = 0, model = "echo", choices = new[] { new { index = 0, delta = new { content = text.Substring(i, Math.Min(4, text.Length - i)) }, finish_reason = (string?)null } } };
            events.Append("data: ").Append(JsonSerializer.Serialize(chunk)).Append("\n\n");
        }

        events.Append("data: [DONE]\n\n");
        var content = new StringContent(events.ToString(), Encoding.UTF8);
        content.Headers.ContentType = new("text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }
}
