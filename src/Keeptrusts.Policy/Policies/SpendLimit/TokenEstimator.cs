using System.Text;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Policies.SpendLimit;

/// <summary>
/// A conservative count of prompt tokens from the texts of a request, without a tokenizer: every text counts one
/// token per started 3 bytes of UTF-8, every message adds <see cref="PerMessageTokens"/>, and the request adds
/// <see cref="ReplyPrimingTokens"/>.
/// </summary>
/// <remarks>
/// The usual rule of thumb is four characters of English per token; three bytes per token overestimates English by
/// about a third and still covers text that tokenizes worse: code, numbers, identifiers, accented Latin and Cyrillic
/// (two bytes a character), and CJK (three bytes a character, about one token each). The estimate only sizes a
/// reservation; the reservation is settled to the provider's reported usage, so erring high costs headroom for the
/// duration of one request, while erring low would let concurrent requests overrun a budget.
/// Content the chat view does not carry (images, audio, tool definitions) is not counted.
/// </remarks>
internal static class TokenEstimator
{
    public const int BytesPerToken = 3;

    /// <summary>Role and separator tokens each message costs on the wire.</summary>
    public const int PerMessageTokens = 4;

    /// <summary>Tokens that start the assistant's reply.</summary>
    public const int ReplyPrimingTokens = 3;

    public static long EstimatePromptTokens(IReadOnlyList<string> texts, IReadOnlyList<ChatText> layout)
    {
        long tokens = ReplyPrimingTokens;
        foreach (var text in texts)
        {
            tokens += (Encoding.UTF8.GetByteCount(text) + BytesPerToken - 1L) / BytesPerToken;
        }

        var messages = new HashSet<int>();
        foreach (var text in layout)
        {
            messages.Add(text.MessageIndex);
        }

        return tokens + ((long)messages.Count * PerMessageTokens);
    }
}
