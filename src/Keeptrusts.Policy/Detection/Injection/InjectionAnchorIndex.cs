using System.Buffers;
using System.Collections.Frozen;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// Finds anchor hits in normalised text. Word anchors are looked up at word starts only: a vectorised pass finds
/// word starts, the first four characters form a key, and a 64-kbit bitmap rejects almost every ordinary word with
/// one load. Anchors that start with punctuation or an emoji are found with a <see cref="SearchValues{T}"/> pass
/// over their first characters. A general multi-string search over ~150 anchors measured several times slower.
/// </summary>
internal sealed class InjectionAnchorIndex
{
    private const int BitmapBits = 1 << 16;

    private readonly ulong[] _bitmap = new ulong[BitmapBits / 64];
    private readonly FrozenDictionary<uint, InjectionAnchor[]> _wordAnchors;
    private readonly SearchValues<char> _symbolStarts;
    private readonly FrozenDictionary<char, InjectionAnchor[]> _symbolAnchors;

    public InjectionAnchorIndex(IEnumerable<InjectionAnchor> anchors)
    {
        var words = new Dictionary<uint, List<InjectionAnchor>>();
        var symbols = new Dictionary<char, List<InjectionAnchor>>();
        foreach (var anchor in anchors)
        {
            if (anchor.Text.Length == 0)
            {
                continue;
            }

            if (char.IsAsciiLetter(anchor.Text[0]) && anchor.WordStart)
            {
                var key = Key(anchor.Text, 0);
                if (!words.TryGetValue(key, out var list))
                {
                    words[key] = list = [];
                }

                list.Add(anchor);
                var bit = Hash(key);
                _bitmap[bit >> 6] |= 1UL << (int)(bit & 63);
            }
            else
            {
                if (!symbols.TryGetValue(anchor.Text[0], out var list))
                {
                    symbols[anchor.Text[0]] = list = [];
                }

                list.Add(anchor);
            }
        }

        _wordAnchors = words.ToFrozenDictionary(static kv => kv.Key, static kv => kv.Value.ToArray());
        _symbolAnchors = symbols.ToFrozenDictionary(static kv => kv.Key, static kv => kv.Value.ToArray());
        _symbolStarts = SearchValues.Create([.. symbols.Keys]);
    }

    /// <summary>Runs every rule whose anchor occurs in the text.</summary>
    public void Scan(scoped in InjectionScanContext context, ref InjectionEvidence evidence)
    {
        ScanWords(context, ref evidence);
        ScanSymbols(context, ref evidence);
    }

    private void ScanWords(scoped in InjectionScanContext context, ref InjectionEvidence evidence)
    {
        var s = context.Normalized;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && s.Length >= 2 * Vector256<ushort>.Count)
        {
            const int Width = 16;
            ref var r = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<char, ushort>(s));
            var (letters, alnum, words) = Classify(ref r, 0);
            uint carry = 0;
            for (; i + (2 * Width) <= s.Length; i += Width)
            {
                // Looking one block ahead gives each word start its length (up to 4) without touching characters.
                var (nextLetters, nextAlnum, nextWords) = Classify(ref r, i + Width);
                var starts = letters & ~((words << 1) | carry);
                carry = (words >> (Width - 1)) & 1;
                var extended = alnum | ((ulong)nextAlnum << Width);
                while (starts != 0)
                {
                    var b = BitOperations.TrailingZeroCount(starts);
                    starts &= starts - 1;
                    var length = Math.Min(4, BitOperations.TrailingZeroCount(~(extended >> b)));
                    var raw = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref r, i + b)));
                    Probe(context, i + b, PackKey(raw, length), ref evidence);
                }

                letters = nextLetters;
                alnum = nextAlnum;
                words = nextWords;
            }
        }

        for (; i < s.Length; i++)
        {
            if (char.IsAsciiLetterLower(s[i]) && InjectionWords.StartsWord(s, i))
            {
                Probe(context, i, Key(s, i), ref evidence);
            }
        }
    }

    private static (uint Letters, uint Alnum, uint Words) Classify(ref ushort r, int offset)
    {
        var v = Vector256.LoadUnsafe(ref r, (nuint)offset);
        var letter = Vector256.LessThan(v - Vector256.Create((ushort)'a'), Vector256.Create((ushort)26));
        var alnum = letter | Vector256.LessThan(v - Vector256.Create((ushort)'0'), Vector256.Create((ushort)10));
        // Non-ASCII characters continue a word (so "édan" is no word start) but never belong to a key.
        var word = alnum | Vector256.GreaterThan(v, Vector256.Create((ushort)0x7F));
        return (letter.ExtractMostSignificantBits(), alnum.ExtractMostSignificantBits(), word.ExtractMostSignificantBits());
    }

    private void Probe(scoped in InjectionScanContext context, int pos, uint key, ref InjectionEvidence evidence)
    {
        var bit = Hash(key);
        if ((_bitmap[bit >> 6] & (1UL << (int)(bit & 63))) == 0 || !_wordAnchors.TryGetValue(key, out var bucket))
        {
            return;
        }

        var rest = context.Normalized[pos..];
        foreach (var anchor in bucket)
        {
            if (rest.StartsWith(anchor.Text, StringComparison.Ordinal))
            {
                Dispatch(context, anchor, pos, ref evidence);
            }
        }
    }

    private void ScanSymbols(scoped in InjectionScanContext context, ref InjectionEvidence evidence)
    {
        var s = context.Normalized;
        var from = 0;
        while (from < s.Length)
        {
            var k = s[from..].IndexOfAny(_symbolStarts);
            if (k < 0)
            {
                return;
            }

            var pos = from + k;
            var rest = s[pos..];
            var wordStart = InjectionWords.StartsWord(s, pos);
            foreach (var anchor in _symbolAnchors[s[pos]])
            {
                if ((wordStart || !anchor.WordStart) && rest.StartsWith(anchor.Text, StringComparison.Ordinal))
                {
                    Dispatch(context, anchor, pos, ref evidence);
                }
            }

            from = pos + 1;
        }
    }

    private static void Dispatch(scoped in InjectionScanContext context, InjectionAnchor anchor, int pos, ref InjectionEvidence evidence)
    {
        if (anchor.Rule == InjectionRule.Deny)
        {
            var s = context.Normalized;
            var end = pos + anchor.Text.Length;
            if (end < s.Length && InjectionWords.IsWordChar(s[end]) && InjectionWords.IsWordChar(s[end - 1]))
            {
                return;
            }

            evidence.Add(InjectionSignalKind.DenyPhrase, 1f, pos, end);
            return;
        }

        InjectionRules.Evaluate(anchor.Rule, context, pos, anchor.Text.Length, ref evidence);
    }

    // The word's first (up to) four characters, one per byte; characters past the word's end are zero so "dan:" and
    // "dan " share a key with the anchor "dan". Only ASCII letters and digits (after folding) belong to a key.
    private static uint Key(ReadOnlySpan<char> s, int pos)
    {
        ulong raw = 0;
        var length = 0;
        for (; length < 4 && pos + length < s.Length && char.IsAsciiLetterOrDigit(s[pos + length]); length++)
        {
            raw |= (ulong)s[pos + length] << (16 * length);
        }

        return PackKey(raw, length);
    }

    private static uint PackKey(ulong fourChars, int length)
    {
        var x = fourChars & (length >= 4 ? ulong.MaxValue : (1UL << (16 * length)) - 1) & 0x00FF00FF00FF00FFUL;
        x = (x | (x >> 8)) & 0x0000FFFF0000FFFFUL;
        return (uint)(x | (x >> 16));
    }

    private static uint Hash(uint key) => (key * 0x9E3779B1u) >> 16;
}
