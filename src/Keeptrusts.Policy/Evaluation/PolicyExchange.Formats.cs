using System.Text.Json;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>The wire format of a chat request or response body.</summary>
public enum ChatWireFormat
{
    /// <summary>OpenAI chat completions (<c>/v1/chat/completions</c>), also spoken by most OpenAI-compatible APIs.</summary>
    OpenAIChat,

    /// <summary>Anthropic Messages (<c>/v1/messages</c>).</summary>
    AnthropicMessages,
}

/// <summary>What a text of an <see cref="ExchangeText"/> is.</summary>
public enum ExchangeTextKind
{
    /// <summary>Message content: what a person, the system prompt or the model wrote.</summary>
    Content,

    /// <summary>The arguments of a tool call the model asked for, usually JSON.</summary>
    ToolCallArguments,

    /// <summary>What a tool returned.</summary>
    ToolResult,
}

/// <summary>
/// One text of a chat exchange given outside any wire format, such as the contents of Microsoft.Extensions.AI
/// messages. Policies read it exactly as they read the same text in a wire body.
/// </summary>
/// <param name="Role">The message role: <c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Kind">What the text is.</param>
/// <param name="MessageIndex">The message it belongs to, in conversation order (the system prompt included).</param>
/// <param name="Text">The text.</param>
public readonly record struct ExchangeText(string Role, ExchangeTextKind Kind, int MessageIndex, string Text);

/// <content>Evaluation of other wire formats and of texts given outside any wire format.</content>
public sealed partial class PolicyExchange
{
    /// <summary>Evaluates a request body in the given wire format.</summary>
    /// <param name="body">The UTF-8 JSON body.</param>
    /// <param name="format">Its wire format.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation: blocked (with status and reason) or the body to send on, in the same format.</returns>
    public ValueTask<PolicyEvaluation> EvaluateRequestAsync(ReadOnlyMemory<byte> body, ChatWireFormat format, CancellationToken cancellationToken = default)
    {
        if (format == ChatWireFormat.OpenAIChat)
        {
            return EvaluateRequestAsync(body, cancellationToken);
        }

        ChatView view;
        try
        {
            view = AnthropicMessagesReader.ReadRequest(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return _engine.RejectAsync(PolicyPhase.Input, "the request body is not a valid Anthropic messages request: " + Describe(ex), Context, cancellationToken);
        }

        _state.RequestModel = view.Model;
        return EvaluateAsync(PolicyPhase.Input, view, cancellationToken);
    }

    /// <summary>Evaluates a non-streamed response body in the given wire format.</summary>
    /// <param name="body">The UTF-8 JSON body.</param>
    /// <param name="format">Its wire format.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation: blocked, or the body to return to the caller, in the same format.</returns>
    public ValueTask<PolicyEvaluation> EvaluateResponseAsync(ReadOnlyMemory<byte> body, ChatWireFormat format, CancellationToken cancellationToken = default)
    {
        if (format == ChatWireFormat.OpenAIChat)
        {
            return EvaluateResponseAsync(body, cancellationToken);
        }

        ChatView view;
        try
        {
            view = AnthropicMessagesReader.ReadResponse(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return _engine.RejectAsync(PolicyPhase.Output, "the provider's response is not a valid Anthropic message: " + Describe(ex), Context, cancellationToken);
        }

        if (view.Usage is { } usage)
        {
            _state.Usage = usage;
        }

        return EvaluateAsync(PolicyPhase.Output, view, cancellationToken);
    }

    /// <summary>
    /// Evaluates the texts of a request (<see cref="PolicyPhase.Input"/>) or of a complete answer
    /// (<see cref="PolicyPhase.Output"/>) given outside any wire format. The evaluation's
    /// <see cref="PolicyEvaluation.Texts"/> are the texts after redaction, in the order given; its body is empty.
    /// </summary>
    /// <param name="phase">The phase.</param>
    /// <param name="texts">The texts, in conversation order.</param>
    /// <param name="model">The model asked for (input) or answering (output), if known.</param>
    /// <param name="maxOutputTokens">The most output tokens the request allows, if it sets a cap (input only).</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation.</returns>
    public ValueTask<PolicyEvaluation> EvaluateTextsAsync(PolicyPhase phase, IReadOnlyList<ExchangeText> texts, string? model = null, long? maxOutputTokens = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var chatTexts = new ChatText[texts.Count];
        for (var i = 0; i < chatTexts.Length; i++)
        {
            var text = texts[i];
            ArgumentNullException.ThrowIfNull(text.Text, nameof(texts));
            var kind = text.Kind switch
            {
                ExchangeTextKind.ToolCallArguments => TextKind.ToolCallArguments,
                ExchangeTextKind.ToolResult => TextKind.ToolResult,
                _ => TextKind.Content,
            };
            chatTexts[i] = new ChatText(text.Role ?? "user", kind, text.MessageIndex, text.Text, -1, 0);
        }

        if (phase == PolicyPhase.Input)
        {
            _state.RequestModel = model;
        }

        var view = new ChatView(ReadOnlyMemory<byte>.Empty, model, chatTexts, maxOutputTokens: phase == PolicyPhase.Input ? maxOutputTokens : null);
        return EvaluateAsync(phase, view, cancellationToken);
    }
}
