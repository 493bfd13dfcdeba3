using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using Keeptrusts.Policy.Evaluation;
using OpenAI;
using OpenAI.Chat;

namespace Keeptrusts.Conformance.Surfaces;

/// <summary>Runs a case with the official OpenAI client over an HttpClient, as an application would.</summary>
internal static class OpenAISdk
{
    public static ChatClient Client(HttpClient http, Uri endpoint) => new("echo-1", new ApiKeyCredential("sk-conformance"), new OpenAIClientOptions
    {
        Endpoint = endpoint,
        Transport = new HttpClientPipelineTransport(http),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromSeconds(20),
    });

    public static List<ChatMessage> Messages(ConformanceCase testCase) =>
        testCase.Messages.Select<CaseMessage, ChatMessage>(m => m.Role switch
        {
            "system" => new SystemChatMessage(m.Text),
            "assistant" => new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall(Wire.ToolCallId, Wire.ToolName, BinaryData.FromString(m.Text))]),
            "tool" => new ToolChatMessage(Wire.ToolCallId, m.Text),
            _ => new UserChatMessage(m.Text),
        }).ToList();

    public static async Task<Outcome> RunAsync(ChatClient client, ConformanceCase testCase, bool stream, CancellationToken cancellationToken)
    {
        var messages = Messages(testCase);
        var options = new ChatCompletionOptions();
        foreach (var tool in testCase.Tools)
        {
            options.Tools.Add(ChatTool.CreateFunctionTool(tool, functionParameters: BinaryData.FromString(Wire.ToolParameters)));
        }

        if (!stream)
        {
            try
            {
                var completion = await client.CompleteChatAsync(messages, options, cancellationToken);
                return new Outcome { Answer = completion.Value.Content.Count == 0 ? string.Empty : completion.Value.Content[0].Text };
            }
            catch (ClientResultException ex)
            {
                return Refused(ex);
            }
        }

        var text = new StringBuilder();
        try
        {
            await foreach (var update in client.CompleteChatStreamingAsync(messages, options, cancellationToken))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }
        }
        catch (ClientResultException ex)
        {
            // Refused before the stream started: the request, or an answer a gateway checked whole.
            return Refused(ex);
        }
        catch (KeeptrustsPolicyException ex)
        {
            return new Outcome { Blocked = BlockedAt.Output, BlockedBy = ex.PolicyId, Answer = text.ToString() };
        }

        // The .NET SDK ignores an error event inside a stream; a gateway ends the stream with one, so the text read
        // stops early and no [DONE] arrives. Such an ending is recognised by the surface from its raw stream.
        return new Outcome { Answer = text.ToString() };
    }

    /// <summary>
    /// An HTTP refusal. Its body names the policy but not the phase: a refused request and an answer refused whole look
    /// alike on the wire, so the phase is left unknown unless the surface can read its decision records.
    /// </summary>
    private static Outcome Refused(ClientResultException ex)
    {
        var body = ex.GetRawResponse()?.Content.ToString();
        var policy = string.IsNullOrEmpty(body) ? null : JsonNode.Parse(body)?["error"]?["policy"]?.GetValue<string>();
        return new Outcome { Blocked = BlockedAt.Input, PhaseKnown = false, BlockedBy = policy, Status = ex.Status };
    }
}
