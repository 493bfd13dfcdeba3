namespace Keeptrusts.Policy.Evaluation;

/// <summary>
/// Maps positions in a text rewritten by successive redactions back to the text as it arrived, so every finding
/// is reported against what the caller sent, whichever policy found it.
/// </summary>
internal sealed class OffsetMap
{
    // Each batch holds its edits in ascending order, in the coordinates after the batch: (new start, new length, old length).
    private readonly List<(int NewStart, int NewLength, int OldLength)[]> _batches = [];

    public bool IsIdentity => _batches.Count == 0;

    /// <summary>Applies non-overlapping edits (in current coordinates) to <paramref name="text"/> and remembers them.</summary>
    public string Apply(string text, List<TextEdit> edits)
    {
        edits.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        var builder = new System.Text.StringBuilder(text.Length);
        var batch = new (int, int, int)[edits.Count];
        var copied = 0;
        for (var i = 0; i < edits.Count; i++)
        {
            var edit = edits[i];
            builder.Append(text, copied, edit.Start - copied);
            batch[i] = (builder.Length, edit.Replacement.Length, edit.Length);
            builder.Append(edit.Replacement);
            copied = edit.Start + edit.Length;
        }

        builder.Append(text, copied, text.Length - copied);
        _batches.Add(batch);
        return builder.ToString();
    }

    /// <summary>Maps a start offset back; a position inside a replacement maps to the start of what it replaced.</summary>
    public int MapStart(int position) => Map(position, isEnd: false);

    /// <summary>Maps an end offset back; a position inside a replacement maps to the end of what it replaced.</summary>
    public int MapEnd(int position) => Map(position, isEnd: true);

    private int Map(int position, bool isEnd)
    {
        for (var b = _batches.Count - 1; b >= 0; b--)
        {
            var shift = 0;
            var mapped = -1;
            foreach (var (newStart, newLength, oldLength) in _batches[b])
            {
                if (position < newStart || (isEnd && position == newStart))
                {
                    break;
                }

                if (position < newStart + newLength || (isEnd && position == newStart + newLength))
                {
                    var oldStart = newStart - shift;
                    mapped = isEnd && position > newStart ? oldStart + oldLength : oldStart;
                    break;
                }

                shift += newLength - oldLength;
            }

            position = mapped >= 0 ? mapped : position - shift;
        }

        return position;
    }
}
