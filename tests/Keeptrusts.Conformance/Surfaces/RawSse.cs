using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>
/// Reads a gateway's event stream as any client in any language would: every <c>data:</c> event in order, the text of
/// its deltas, and the error event a gateway ends a blocked stream with (which the .NET SDK would skip).
/// </summary>
internal static class RawSse
{
    public static async Task<Outcome> RunAsync(HttpClient http, ConformanceCase testCase, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new ByteArrayContent(Wire.Request(testCase, stream: true)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))?["error"];
            return new Outcome { Blocked = BlockedAt.Input, PhaseKnown = false, BlockedBy = error?["policy"]?.GetValue<string>(), Status = (int)response.StatusCode };
        }

        var text = new StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                var data = line["data:".Length..].Trim();
                if (data == "[DONE]")
                {
                    break;
                }

                var node = JsonNode.Parse(data)!;
                if (node["error"] is { } error)
                {
                    return new Outcome { Blocked = BlockedAt.Output, BlockedBy = error["policy"]?.GetValue<string>(), Answer = text.ToString() };
                }

                foreach (var choice in node["choices"]?.AsArray() ?? [])
                {
                    text.Append(choice?["delta"]?["content"]?.GetValue<string>());
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return new Outcome { Blocked = BlockedAt.Output, BlockedBy = null, Answer = text.ToString() };
        }

        return new Outcome { Answer = text.ToString() };
    }
}
