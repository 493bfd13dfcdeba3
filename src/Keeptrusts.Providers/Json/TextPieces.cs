namespace Keeptrusts.Providers.Json;

/// <summary>Cuts text into stream-sized pieces at word boundaries, never inside a surrogate pair.</summary>
internal static class TextPieces
{
    public const int DefaultTarget = 16;

    public static List<string> Split(string text, int target = DefaultTarget)
    {
        var pieces = new List<string>(text.Length / target + 1);
        var start = 0;
        while (start < text.Length)
        {
            var end = Math.Min(text.Length, start + target);
            if (end < text.Length)
            {
                var space = text.AsSpan(start + 1, end - start - 1).LastIndexOfAny(' ', '\n', '\t');
                if (space >= 0)
                {
                    end = start + 1 + space + 1;
                }
                else if (char.IsHighSurrogate(text[end - 1]))
                {
                    end--;
                }
            }

            pieces.Add(text[start..end]);
            start = end;
        }

        return pieces;
    }
}
