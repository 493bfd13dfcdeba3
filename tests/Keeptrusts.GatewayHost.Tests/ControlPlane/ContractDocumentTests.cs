using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.GatewayHost.Reporting;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.GatewayHost.Tests.ControlPlane;

/// <summary>docs/control-plane.md, the emulator and the gateway agree: every example in the page is checked.</summary>
public sealed partial class ContractDocumentTests
{
    [Fact]
    public async Task Every_request_example_gets_an_answer_of_the_documented_shape_from_the_emulator()
    {
        var doc = Document();
        var seed = File.ReadAllText(Path.Combine(Root(), "samples", "control-plane-emulator", "seed.yaml"));
        await using var api = await EmulatorHost.StartAsync(seed);
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        var examples = Examples().Matches(doc);
        Assert.True(examples.Count >= 5, $"expected request examples for every endpoint, found {examples.Count}");

        foreach (Match example in examples)
        {
            var (request, text) = Request(example.Groups["request"].Value);
            using (request)
            {
                using var answer = await http.SendAsync(request);
                var body = await answer.Content.ReadAsStringAsync();
                Assert.True(answer.IsSuccessStatusCode, $"{text}: {(int)answer.StatusCode} {body}");
                var documented = JsonNode.Parse(example.Groups["answer"].Value)!.AsObject();
                var actual = JsonNode.Parse(body)!.AsObject();
                Assert.Equal(documented.Select(static p => p.Key).Order(), actual.Select(static p => p.Key).Order());
                if (text.StartsWith("POST /v1/config-variables/resolve", StringComparison.Ordinal) || text.StartsWith("GET /health", StringComparison.Ordinal))
                {
                    Assert.True(JsonNode.DeepEquals(documented, actual), $"{text}: documented {documented.ToJsonString()}, got {body}");
                }
            }
        }
    }

    [Fact]
    public void The_event_example_has_exactly_the_fields_the_gateway_writes()
    {
        var example = JsonNode.Parse(EventExample().Match(Document()).Groups["json"].Value)!.AsObject();
        var buffer = new ArrayBufferWriter<byte>();
        EventFormat.Write(buffer, new DecisionRecord
        {
            Id = "dr_1",
            Decision = PolicyDecision.Redact,
            Policies = [new PolicyOutcome { Policy = "pii-detector", Decision = PolicyDecision.Redact, Findings = [new PolicyFinding("pii-detector", "EMAIL_ADDRESS") { Text = 0, Start = 1, End = 2, Detail = "x", Score = 1 }] }],
        }, new EventTenant("gk_1", "t"), "gw_1", "0.1.0");
        var written = JsonNode.Parse(buffer.WrittenSpan)!.AsObject();

        Assert.Equal(written.Select(static p => p.Key), example.Select(static p => p.Key));
        Assert.Equal(Keys(written["policies"]![0]!), Keys(example["policies"]![0]!));
        Assert.Equal(Keys(written["findings"]![0]!), Keys(example["findings"]![0]!));
    }

    private static IEnumerable<string> Keys(JsonNode node) => node.AsObject().Select(static p => p.Key);

    private static (HttpRequestMessage Request, string FirstLine) Request(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var first = lines[0].Trim();
        var parts = first.Split(' ', 2);
        var request = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1].TrimStart('/'));
        var i = 1;
        for (; i < lines.Length && lines[i].Length > 0; i++)
        {
            var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            var name = lines[i][..colon];
            var value = lines[i][(colon + 1)..].Trim();
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Authorization = AuthenticationHeaderValue.Parse(value);
            }
        }

        var body = string.Join('\n', lines.Skip(i + 1)).Trim();
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return (request, first);
    }

    private static string Document() => File.ReadAllText(Path.Combine(Root(), "docs", "control-plane.md")).ReplaceLineEndings("\n");

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Keeptrusts.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Keeptrusts.Sdk.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("```http\\n(?<request>.*?)\\n```\\s*\\n```json\\n(?<answer>.*?)\\n```", RegexOptions.Singleline)]
    private static partial Regex Examples();

    [GeneratedRegex("<!-- event-example -->\\n```json\\n(?<json>.*?)\\n```", RegexOptions.Singleline)]
    private static partial Regex EventExample();
}
