namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>How two digit groups of a cluster are joined, for example the <c>") "</c> in <c>(415) 555-0132</c>.</summary>
internal enum Joiner : byte
{
    None,
    Space,
    Dash,
    Dot,
    SpacedDash,
    Close,
    CloseSpace,
    CloseDash,
    Open,
    SpaceOpen,
}

/// <summary>One run of digits in a cluster and the joiner that links it to the next run.</summary>
internal struct DigitGroup
{
    public int Start;
    public int Length;
    public Joiner Next;
    public int NextLength;

    public readonly int End => Start + Length;
}

/// <summary>
/// Digit runs separated by short punctuation (<c>4111 1111</c>, <c>(415) 555-0132</c>, <c>10.0.0.1</c>): the
/// shape every numeric detector reads. Built once per cluster so card, SSN, phone and IPv4 rules share the work.
/// </summary>
internal readonly ref struct DigitCluster
{
    public const int MaxGroups = 16;

    public DigitCluster(ReadOnlySpan<char> text, Span<DigitGroup> groups, int count, char prefix, bool gluedStart, bool gluedEnd)
    {
        Text = text;
        Groups = groups[..count];
        Prefix = prefix;
        GluedStart = gluedStart;
        GluedEnd = gluedEnd;
    }

    public ReadOnlySpan<char> Text { get; }

    public Span<DigitGroup> Groups { get; }

    /// <summary><c>'+'</c> or <c>'('</c> immediately before the first group, otherwise <c>'\0'</c>.</summary>
    public char Prefix { get; }

    /// <summary>The first group continues a word (<c>v1.2</c>, <c>DE89</c>): nothing may start there.</summary>
    public bool GluedStart { get; }

    /// <summary>The last group runs into a word (<c>123abc</c>): nothing may end there.</summary>
    public bool GluedEnd { get; }

    public int Count => Groups.Length;

    public ReadOnlySpan<char> Digits(int group) => Text.Slice(Groups[group].Start, Groups[group].Length);

    public Joiner Before(int group) => group == 0 ? Joiner.None : Groups[group - 1].Next;

    public Joiner After(int group) => Groups[group].Next;

    public int DigitCount(int first, int last)
    {
        var n = 0;
        for (var g = first; g <= last; g++)
        {
            n += Groups[g].Length;
        }

        return n;
    }

    /// <summary>The one joiner used between <paramref name="first"/> and <paramref name="last"/>; <see cref="Joiner.None"/> for a single group, <c>null</c> when mixed.</summary>
    public Joiner? UniformJoiner(int first, int last)
    {
        if (first == last)
        {
            return Joiner.None;
        }

        var kind = Groups[first].Next;
        for (var g = first + 1; g < last; g++)
        {
            if (Groups[g].Next != kind)
            {
                return null;
            }
        }

        return kind;
    }

    /// <summary>
    /// Whether groups <paramref name="first"/>..<paramref name="last"/> can stand alone: not glued to a word, and
    /// not one piece of a longer number written with the same tight separator (<c>1-2-3-4</c>).
    /// </summary>
    public bool StandsAlone(int first, int last, Joiner inner)
    {
        if (first == 0 ? GluedStart : IsTightContinuation(Before(first), inner))
        {
            return false;
        }

        return last == Count - 1 ? !GluedEnd : !IsTightContinuation(After(last), inner);
    }

    public int StartOf(int group) => Groups[group].Start;

    public int EndOf(int group) => Groups[group].End;

    private static bool IsTightContinuation(Joiner outer, Joiner inner) =>
        outer is Joiner.Dash or Joiner.Dot && (inner == Joiner.None || inner == outer);
}
