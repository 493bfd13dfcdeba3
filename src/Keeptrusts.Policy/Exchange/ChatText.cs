namespace Keeptrusts.Policy.Exchange;

/// <summary>Where a piece of text sits in a chat exchange.</summary>
internal enum TextKind
{
    /// <summary>A message's <c>content</c> string, or a <c>text</c> part of it.</summary>
    Content,

    /// <summary>The JSON <c>arguments</c> of a tool call the model asked for.</summary>
    ToolCallArguments,

    /// <summary>The content of a <c>tool</c> message: what a tool returned.</summary>
    ToolResult,
}

/// <summary>
/// One piece of text in a chat exchange, with the place in the wire body it came from so a redaction can rewrite
/// exactly that string and nothing else.
/// </summary>
/// <param name="Role">The message role: system, developer, user, assistant or tool.</param>
/// <param name="Kind">What the text is.</param>
/// <param name="MessageIndex">The message (request) or choice (response) it belongs to.</param>
/// <param name="Text">The decoded text.</param>
/// <param name="TokenStart">Byte offset of the JSON string token (its opening quote) in the body; -1 when the text has no wire form.</param>
/// <param name="TokenLength">Byte length of the JSON string token including quotes.</param>
internal readonly record struct ChatText(string Role, TextKind Kind, int MessageIndex, string Text, int TokenStart, int TokenLength);
