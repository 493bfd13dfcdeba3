namespace Keeptrusts.Policy.Exchange;

/// <summary>
/// What policies read: the texts of a chat request or response, in order, and the model. The wire body is kept
/// whole, so fields the view does not model pass through untouched.
/// </summary>
internal sealed class ChatView
{
    public ChatView(ReadOnlyMemory<byte> body, string? model, IReadOnlyList<ChatText> texts, bool stream = false, string? user = null, Evaluation.TokenUsage? usage = null, long? maxOutputTokens = null)
    {
        Usage = usage;
        MaxOutputTokens = maxOutputTokens;
        Body = body;
        Model = model;
        Texts = texts;
        Stream = stream;
        User = user;
    }

    /// <summary>The original wire body (UTF-8 JSON), or empty for a view built from plain text.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The requested (or answering) model.</summary>
    public string? Model { get; }

    /// <summary>The texts, in wire order.</summary>
    public IReadOnlyList<ChatText> Texts { get; }

    /// <summary>Whether the request asked for a streamed response.</summary>
    public bool Stream { get; }

    /// <summary>Token usage reported in a response, if any.</summary>
    public Evaluation.TokenUsage? Usage { get; }

    /// <summary>
    /// The most output tokens the request allows (<c>max_completion_tokens</c>, else the older <c>max_tokens</c>), if
    /// it sets a usable one.
    /// </summary>
    public long? MaxOutputTokens { get; }

    /// <summary>The request's <c>user</c> field, if any.</summary>
    public string? User { get; }

    /// <summary>A view of a single user message, for evaluating prompts outside any wire format.</summary>
    public static ChatView FromUserText(string text, string? model = null) =>
        new(ReadOnlyMemory<byte>.Empty, model, [new ChatText("user", TextKind.Content, 0, text, -1, 0)]);

    /// <summary>A view of a single assistant answer, for evaluating output outside any wire format.</summary>
    public static ChatView FromAssistantText(string text, string? model = null) =>
        new(ReadOnlyMemory<byte>.Empty, model, [new ChatText("assistant", TextKind.Content, 0, text, -1, 0)]);
}
