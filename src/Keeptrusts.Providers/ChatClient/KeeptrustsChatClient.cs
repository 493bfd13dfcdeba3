using System.Runtime.CompilerServices;
using System.Text.Json;
using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.AI;

namespace Keeptrusts.Providers.ChatClient;

/// <summary>
/// An <see cref="IChatClient"/> decorator that enforces a policy configuration in-process: input policies on the
/// messages before the inner client is called, output policies on its answer, streamed or not. Texts, tool-call
/// arguments and tool results are governed as the gateway governs them on the wire. A redaction rewrites only the
/// text it targets, in new message and content instances (the caller's list and objects are never changed; every
/// other content and property is kept). A block throws <see cref="KeeptrustsPolicyException"/> with the decision.
/// </summary>
/// <remarks>
/// Each call's decisions are attached to its answer: <see cref="ChatResponse.AdditionalProperties"/> (or those of the
/// last streamed update) under <see cref="InputDecisionKey"/> and <see cref="OutputDecisionKey"/>. That is the way to
/// read them when one client serves concurrent calls; <see cref="LastDecision"/> is only the most recent decision of
/// any call, for diagnostics.
/// </remarks>
public sealed partial class KeeptrustsChatClient : DelegatingChatClient
{
    /// <summary>The key of the input <see cref="DecisionRecord"/> in an answer's additional properties.</summary>
    public const string InputDecisionKey = "keeptrusts.input_decision";

    /// <summary>The key of the output <see cref="DecisionRecord"/> in an answer's additional properties.</summary>
    public const string OutputDecisionKey = "keeptrusts.output_decision";

    // Streamed tool calls arrive whole; each is evaluated under a key of its own, apart from the text (key 0).
    private const int ToolCallKeyBase = 1 << 20;

    private readonly PolicyEngine _engine;
    private DecisionRecord? _lastDecision;
    private ChatClientMetadata? _metadata;

    /// <summary>Creates the decorator.</summary>
    /// <param name="innerClient">The client that talks to the model.</param>
    /// <param name="engine">The engine that enforces the configuration; the caller owns it.</param>
    public KeeptrustsChatClient(IChatClient innerClient, PolicyEngine engine)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
    }

    /// <summary>The engine in force.</summary>
    public PolicyEngine Engine => _engine;

    /// <summary>
    /// Who a call is from (user, role, team); the values land in every decision record. Called once per call with its
    /// options. Default: no identity, and the options' <see cref="ChatOptions.ConversationId"/> as the conversation.
    /// </summary>
    public Func<ChatOptions?, RequestContext>? RequestContext { get; set; }

    /// <summary>
    /// The most recent decision made by this client, by any call on any thread. With concurrent calls, read each call's
    /// own decisions from its answer (see <see cref="InputDecisionKey"/>) or from the exception.
    /// </summary>
    public DecisionRecord? LastDecision => Volatile.Read(ref _lastDecision);

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var exchange = _engine.BeginExchange(Context(options));
        await using (exchange.ConfigureAwait(false))
        {
            var (governed, governedOptions, input, offered) = await EvaluateInputAsync(exchange, messages, options, cancellationToken).ConfigureAwait(false);
            var response = await base.GetResponseAsync(governed, governedOptions, cancellationToken).ConfigureAwait(false);
            foreach (var call in response.Messages.SelectMany(static m => m.Contents).OfType<FunctionCallContent>())
            {
                await CheckCallAsync(exchange, call, offered, cancellationToken).ConfigureAwait(false);
            }

            if (response.Usage is { } usage)
            {
                exchange.ReportUsage(Usage(usage));
            }

            var texts = new List<ExchangeText>();
            var places = new List<(int Message, int Content)>();
            for (var m = 0; m < response.Messages.Count; m++)
            {
                var contents = response.Messages[m].Contents;
                for (var c = 0; c < contents.Count; c++)
                {
                    if (ReadOutput(contents[c]) is { } text)
                    {
                        texts.Add(new ExchangeText("assistant", text.Kind, m, text.Text));
                        places.Add((m, c));
                    }
                }
            }

            var output = await exchange.EvaluateTextsAsync(PolicyPhase.Output, texts, response.ModelId, cancellationToken: cancellationToken).ConfigureAwait(false);
            Remember(output.Record);
            if (output.IsBlocked)
            {
                throw new KeeptrustsPolicyException(output.Record);
            }

            var result = Changed(texts, output) ? Rewrite(response, places, output) : response;
            result.AdditionalProperties ??= [];
            result.AdditionalProperties[InputDecisionKey] = input;
            result.AdditionalProperties[OutputDecisionKey] = output.Record;
            return result;
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var exchange = _engine.BeginExchange(Context(options));
        await using (exchange.ConfigureAwait(false))
        {
            var (governed, governedOptions, input, offered) = await EvaluateInputAsync(exchange, messages, options, cancellationToken).ConfigureAwait(false);
            var stream = exchange.BeginOutputStream();
            var held = new List<ChatResponseUpdate>();
            ChatResponseUpdate? lastText = null;
            var toolCalls = 0;
            await foreach (var update in base.GetStreamingResponseAsync(governed, governedOptions, cancellationToken).ConfigureAwait(false))
            {
                var contents = new List<AIContent>(update.Contents.Count);
                var changed = false;
                foreach (var content in update.Contents)
                {
                    switch (content)
                    {
                        case TextContent text when text.Text is { Length: > 0 }:
                        {
                            var step = await stream.AppendAsync(0, text.Text, cancellationToken).ConfigureAwait(false);
                            Block(step);
                            changed = true;
                            if (step.Emit.Length > 0)
                            {
                                contents.Add(CopyText(text, step.Emit));
                            }

                            lastText = update;
                            break;
                        }

                        case FunctionCallContent call when call.Arguments is { Count: > 0 }:
                        {
                            await CheckCallAsync(exchange, call, offered, cancellationToken).ConfigureAwait(false);
                            var key = ToolCallKeyBase + toolCalls++;
                            _ = Block(await stream.AppendAsync(key, SerializeArguments(call.Arguments), cancellationToken).ConfigureAwait(false));
                            var step = Block(await stream.CompleteChoiceAsync(key, cancellationToken).ConfigureAwait(false));
                            var replaced = ReplaceArguments(call, step.Emit, out var argumentsChanged);
                            changed |= argumentsChanged;
                            contents.Add(replaced);
                            break;
                        }

                        case FunctionCallContent call:
                            await CheckCallAsync(exchange, call, offered, cancellationToken).ConfigureAwait(false);
                            contents.Add(content);
                            break;

                        case UsageContent usage:
                            exchange.ReportUsage(Usage(usage.Details));
                            contents.Add(content);
                            break;
                        default:
                            contents.Add(content);
                            break;
                    }
                }

                var outgoing = changed ? CopyUpdate(update, contents) : update;

                // The finish and everything after it wait until the held tail is released.
                if (held.Count > 0 || update.FinishReason is not null)
                {
                    held.Add(outgoing);
                }
                else if (!changed || outgoing.Contents.Count > 0)
                {
                    yield return outgoing;
                }
            }

            var (remaining, record) = await stream.CompleteAsync(cancellationToken).ConfigureAwait(false);
            Remember(record);
            if (record.Decision == PolicyDecision.Block)
            {
                throw new KeeptrustsPolicyException(record);
            }

            var tail = new List<ChatResponseUpdate>(held.Count + 1);
            if (remaining.TryGetValue(0, out var rest) && rest.Length > 0)
            {
                var released = CopyUpdate(lastText ?? new ChatResponseUpdate { Role = ChatRole.Assistant }, [new TextContent(rest)]);
                released.FinishReason = null;
                tail.Add(released);
            }

            tail.AddRange(held);
            if (tail.Count == 0)
            {
                tail.Add(new ChatResponseUpdate { Role = ChatRole.Assistant });
            }

            var last = tail[^1] = tail[^1].Clone();
            last.AdditionalProperties = last.AdditionalProperties is null ? [] : new AdditionalPropertiesDictionary(last.AdditionalProperties);
            last.AdditionalProperties[InputDecisionKey] = input;
            last.AdditionalProperties[OutputDecisionKey] = record;
            foreach (var update in tail)
            {
                yield return update;
            }
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType == typeof(PolicyEngine) ? _engine : base.GetService(serviceType, serviceKey);
    }

    private static StreamStep Block(StreamStep step) =>
        step.Blocked is { } blocked ? throw new KeeptrustsPolicyException(blocked) : step;

    private RequestContext Context(ChatOptions? options)
    {
        var context = RequestContext?.Invoke(options) ?? new RequestContext();
        return context.ConversationId is null && options?.ConversationId is { } conversation ? context with { ConversationId = conversation } : context;
    }

    private void Remember(DecisionRecord record) => Volatile.Write(ref _lastDecision, record);

    private async ValueTask<(IEnumerable<ChatMessage> Messages, ChatOptions? Options, DecisionRecord Decision, Policy.Tools.OfferedTools Offered)> EvaluateInputAsync(PolicyExchange exchange, IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        (options, var offered, var stripped) = await GovernToolsAsync(exchange, options, cancellationToken).ConfigureAwait(false);
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var texts = new List<ExchangeText>();
        var places = new List<(int Message, int Content)>();

        // Instructions are the system prompt: message 0, ahead of the messages, as on the wire.
        var shift = 0;
        if (options?.Instructions is { Length: > 0 } instructions)
        {
            texts.Add(new ExchangeText("system", ExchangeTextKind.Content, 0, instructions));
            places.Add((-1, -1));
            shift = 1;
        }

        for (var m = 0; m < list.Count; m++)
        {
            var message = list[m];
            var role = message.Role.Value;
            var contents = message.Contents;
            for (var c = 0; c < contents.Count; c++)
            {
                if (ReadInput(contents[c], role) is { } text)
                {
                    texts.Add(new ExchangeText(text.Role, text.Kind, m + shift, text.Text));
                    places.Add((m, c));
                }
            }
        }

        var model = options?.ModelId ?? Metadata()?.DefaultModelId;
        var input = await exchange.EvaluateTextsAsync(PolicyPhase.Input, texts, model, options?.MaxOutputTokens, cancellationToken).ConfigureAwait(false);
        Remember(input.Record);
        if (input.IsBlocked)
        {
            throw new KeeptrustsPolicyException(input.Record);
        }

        await RecordStrippedAsync(exchange, stripped, cancellationToken).ConfigureAwait(false);
        if (!Changed(texts, input))
        {
            return (list, options, input.Record, offered);
        }

        var rewritten = list.ToArray();
        var governedOptions = options;
        var byMessage = new Dictionary<int, List<(int Content, string Text)>>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (string.Equals(texts[i].Text, input.Texts[i], StringComparison.Ordinal))
            {
                continue;
            }

            var (m, c) = places[i];
            if (m < 0)
            {
                governedOptions = options!.Clone();
                governedOptions.Instructions = input.Texts[i];
                continue;
            }

            if (!byMessage.TryGetValue(m, out var edits))
            {
                byMessage[m] = edits = [];
            }

            edits.Add((c, input.Texts[i]));
        }

        foreach (var (m, edits) in byMessage)
        {
            rewritten[m] = CopyMessage(list[m], edits, static (content, text) => ReplaceInput(content, text));
        }

        return (rewritten, governedOptions, input.Record, offered);
    }

    private ChatClientMetadata? Metadata() => _metadata ??= InnerClient.GetService(typeof(ChatClientMetadata)) as ChatClientMetadata;

    private static bool Changed(List<ExchangeText> texts, PolicyEvaluation evaluation)
    {
        for (var i = 0; i < texts.Count; i++)
        {
            if (!string.Equals(texts[i].Text, evaluation.Texts[i], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static (string Role, ExchangeTextKind Kind, string Text)? ReadInput(AIContent content, string role) => content switch
    {
        TextContent { Text: { Length: > 0 } text } => (role, role == "tool" ? ExchangeTextKind.ToolResult : ExchangeTextKind.Content, text),
        FunctionCallContent { Arguments: { Count: > 0 } arguments } => (role, ExchangeTextKind.ToolCallArguments, SerializeArguments(arguments)),
        FunctionResultContent { Result: { } result } => ("tool", ExchangeTextKind.ToolResult, ResultText(result)),
        _ => null,
    };

    private static (ExchangeTextKind Kind, string Text)? ReadOutput(AIContent content) => content switch
    {
        TextContent { Text: { Length: > 0 } text } => (ExchangeTextKind.Content, text),
        FunctionCallContent { Arguments: { Count: > 0 } arguments } => (ExchangeTextKind.ToolCallArguments, SerializeArguments(arguments)),
        _ => null,
    };

    private static AIContent ReplaceInput(AIContent content, string text) => content switch
    {
        TextContent t => CopyText(t, text),
        FunctionCallContent call => ReplaceArguments(call, text, out _),
        FunctionResultContent result => new FunctionResultContent(result.CallId, ResultValue(result.Result, text))
        {
            Exception = result.Exception,
            AdditionalProperties = result.AdditionalProperties,
            Annotations = result.Annotations,
        },
        _ => content,
    };

    private static string SerializeArguments(IDictionary<string, object?> arguments) =>
        JsonSerializer.Serialize(arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));

    private static string ResultText(object result) => result switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions.GetTypeInfo(result.GetType())),
    };

    /// <summary>A redacted tool result keeps its shape: a string stays a string, JSON stays JSON when it still parses.</summary>
    private static object? ResultValue(object? original, string text)
    {
        if (original is string || original is JsonElement { ValueKind: JsonValueKind.String })
        {
            return original is string ? text : JsonSerializer.SerializeToElement(text, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(string)));
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return text;
        }
    }

    /// <summary>
    /// A call with redacted arguments. Redaction leaves JSON parseable in practice (placeholders hold no quotes); when it
    /// does not, the call is refused rather than sent with arguments nobody checked.
    /// </summary>
    private static FunctionCallContent ReplaceArguments(FunctionCallContent call, string json, out bool changed)
    {
        var original = call.Arguments is { Count: > 0 } a ? SerializeArguments(a) : string.Empty;
        changed = !string.Equals(original, json, StringComparison.Ordinal);
        if (!changed)
        {
            return call;
        }

        IDictionary<string, object?>? arguments;
        try
        {
            arguments = JsonSerializer.Deserialize(json, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Dictionary<string, object?>))) as IDictionary<string, object?>;
        }
        catch (JsonException)
        {
            arguments = null;
        }

        if (arguments is null)
        {
            throw new KeeptrustsPolicyException($"A redaction left the arguments of tool call '{call.Name}' unreadable as JSON; the call was not made.");
        }

        return new FunctionCallContent(call.CallId, call.Name, arguments)
        {
            Exception = call.Exception,
            InformationalOnly = call.InformationalOnly,
            AdditionalProperties = call.AdditionalProperties,
            Annotations = call.Annotations,
        };
    }

    /// <summary>
    /// A copy of a text content with new text. The raw representation is left behind on purpose: inner clients may send
    /// it instead of the text, and it still holds what was redacted.
    /// </summary>
    private static TextContent CopyText(TextContent original, string text) => new(text)
    {
        AdditionalProperties = original.AdditionalProperties,
        Annotations = original.Annotations,
    };

    private static ChatMessage CopyMessage(ChatMessage original, List<(int Content, string Text)> edits, Func<AIContent, string, AIContent> replace)
    {
        var contents = new List<AIContent>(original.Contents);
        foreach (var (c, text) in edits)
        {
            contents[c] = replace(contents[c], text);
        }

        return new ChatMessage(original.Role, contents)
        {
            AuthorName = original.AuthorName,
            CreatedAt = original.CreatedAt,
            MessageId = original.MessageId,
            AdditionalProperties = original.AdditionalProperties,
        };
    }

    private static ChatResponseUpdate CopyUpdate(ChatResponseUpdate original, IList<AIContent> contents) => new(original.Role, contents)
    {
        AuthorName = original.AuthorName,
        ResponseId = original.ResponseId,
        MessageId = original.MessageId,
        ConversationId = original.ConversationId,
        CreatedAt = original.CreatedAt,
        FinishReason = original.FinishReason,
        ModelId = original.ModelId,
        AdditionalProperties = original.AdditionalProperties,
        ContinuationToken = original.ContinuationToken,
    };

    private static ChatResponse Rewrite(ChatResponse response, List<(int Message, int Content)> places, PolicyEvaluation output)
    {
        var byMessage = new Dictionary<int, List<(int Content, string Text)>>();
        for (var i = 0; i < places.Count; i++)
        {
            var (m, c) = places[i];
            if (!byMessage.TryGetValue(m, out var edits))
            {
                byMessage[m] = edits = [];
            }

            edits.Add((c, output.Texts[i]));
        }

        var messages = new List<ChatMessage>(response.Messages);
        foreach (var (m, edits) in byMessage)
        {
            messages[m] = CopyMessage(response.Messages[m], edits, static (content, text) => content switch
            {
                TextContent t when !string.Equals(t.Text, text, StringComparison.Ordinal) => CopyText(t, text),
                FunctionCallContent call => ReplaceArguments(call, text, out _),
                _ => content,
            });
        }

        return new ChatResponse(messages)
        {
            ResponseId = response.ResponseId,
            ConversationId = response.ConversationId,
            ModelId = response.ModelId,
            CreatedAt = response.CreatedAt,
            FinishReason = response.FinishReason,
            Usage = response.Usage,
            ContinuationToken = response.ContinuationToken,
            AdditionalProperties = response.AdditionalProperties is null ? null : new AdditionalPropertiesDictionary(response.AdditionalProperties),
        };
    }

    private static TokenUsage Usage(UsageDetails usage) =>
        new(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0, usage.CachedInputTokenCount ?? 0);
}
