using System.Runtime.CompilerServices;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>Receives the hashed features of a text, one call per occurrence.</summary>
internal interface IInjectionFeatureSink
{
    /// <summary>Adds one occurrence of a feature.</summary>
    /// <param name="bucket">The feature's bucket, in [0, <see cref="InjectionFeatures.BucketCount"/>).</param>
    void Add(int bucket);
}

/// <summary>
/// The features of the learned injection scorer: hashed word unigrams, word bigrams and character trigrams of each
/// word (with start and end marks), over text already folded by <see cref="InjectionTextNormalizer"/>. Training and
/// inference call the same code, so the two can never disagree about what a feature is.
/// </summary>
/// <remarks>
/// Words are maximal runs of letters and digits. Character trigrams carry the stems ("ignor", "instru") across
/// inflections and languages and give unsegmented scripts such as Chinese some features at all; long runs (base64,
/// hashes) contribute only their first <see cref="MaxTrigramChars"/> characters so that junk cannot dominate.
/// </remarks>
internal static class InjectionFeatures
{
    /// <summary>Log2 of the number of hash buckets.</summary>
    public const int BucketBits = 15;

    /// <summary>Number of hash buckets (and of weights in the model).</summary>
    public const int BucketCount = 1 << BucketBits;

    /// <summary>Longest prefix of a word whose trigrams are features.</summary>
    public const int MaxTrigramChars = 16;

    private const uint WordSalt = 0x5bd1e995;
    private const uint BigramSalt = 0x27d4eb2f;
    private const uint TrigramSalt = 0x165667b1;

    /// <summary>Calls <paramref name="sink"/> once per feature occurrence in <paramref name="normalized"/>.</summary>
    /// <returns>The number of features produced.</returns>
    public static int Extract<TSink>(ReadOnlySpan<char> normalized, ref TSink sink)
        where TSink : struct, IInjectionFeatureSink
    {
        var count = 0;
        uint previous = 0;
        var hasPrevious = false;
        var i = 0;
        while (i < normalized.Length)
        {
            var c = normalized[i];
            if (!char.IsLetterOrDigit(c))
            {
                // A sentence break ends the bigram chain: "... done. Ignore" is not the phrase "done ignore".
                if (c is '.' or '!' or '?' or '\n' or ':' or ';')
                {
                    hasPrevious = false;
                }

                i++;
                continue;
            }

            var start = i;
            while (i < normalized.Length && char.IsLetterOrDigit(normalized[i]))
            {
                i++;
            }

            var word = normalized[start..i];
            var hash = 2166136261u;
            uint c0 = '^', c1 = Lower(word[0]);
            var trigramChars = Math.Min(word.Length, MaxTrigramChars);
            for (var k = 0; k < word.Length; k++)
            {
                var ch = Lower(word[k]);
                hash = (hash ^ ch) * 16777619u;
                if (k >= 1 && k < trigramChars)
                {
                    sink.Add(Bucket(Trigram(c0, c1, ch)));
                    count++;
                    c0 = c1;
                    c1 = ch;
                }
            }

            // The closing trigram: the last two characters (or "^x" for one-letter words) and the end mark.
            sink.Add(Bucket(Trigram(c0, c1, '$')));
            sink.Add(Bucket(hash ^ WordSalt));
            count += 2;
            if (hasPrevious)
            {
                sink.Add(Bucket((previous * 31u) ^ hash ^ BigramSalt));
                count++;
            }

            previous = hash;
            hasPrevious = true;
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Lower(char c) => c < 128 ? (uint)(c | (c is >= 'A' and <= 'Z' ? 0x20 : 0)) : char.ToLowerInvariant(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Trigram(uint a, uint b, uint c) => (((a * 0x01000193u) ^ b) * 0x01000193u ^ c) ^ TrigramSalt;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bucket(uint hash) => (int)((hash * 0x9E3779B1u) >> (32 - BucketBits));
}
