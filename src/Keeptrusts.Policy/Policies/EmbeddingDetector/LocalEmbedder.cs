using System.Buffers;
using System.Globalization;
using System.Text;

namespace Keeptrusts.Policy.Policies.EmbeddingDetector;

/// <summary>
/// A lexical embedding that needs no model: character 3-, 4- and 5-grams of the normalised text (lowercase letters
/// and digits, single spaces) hashed with signs into a fixed number of dimensions, then L2-normalised. Texts that
/// share wording land close together; it knows nothing of meaning, which is what the external backend is for.
/// </summary>
internal static class LocalEmbedder
{
    public const int Dimensions = 2048;
    private const int MinGram = 3;
    private const int MaxGram = 5;

    public static float[] Embed(ReadOnlySpan<char> text)
    {
        var vector = new float[Dimensions];
        var decomposed = text.ToString().Normalize(NormalizationForm.FormKD);
        var buffer = ArrayPool<char>.Shared.Rent(decomposed.Length + 2);
        try
        {
            var length = Normalise(decomposed, buffer);
            var normalised = buffer.AsSpan(0, length);
            for (var n = MinGram; n <= MaxGram; n++)
            {
                for (var i = 0; i + n <= normalised.Length; i++)
                {
                    var hash = Fnv1a(normalised.Slice(i, n), (uint)n);
                    var index = (int)(hash % Dimensions);
                    vector[index] += (hash & 0x8000_0000) == 0 ? 1f : -1f;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }

        Normalize(vector);
        return vector;
    }

    public static double Cosine(float[] a, float[] b)
    {
        // Both vectors are unit length (or zero), so the dot product is the cosine.
        double dot = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
        }

        return Math.Clamp(dot, -1, 1);
    }

    /// <summary>Splits a long text into overlapping windows so a short attack inside a long prompt is not diluted.</summary>
    public static IEnumerable<Range> Windows(int length, int window)
    {
        if (length <= window)
        {
            yield return Range.All;
            yield break;
        }

        // A quarter-window step: some window always holds an example-sized passage with little around it.
        var step = Math.Max(1, window / 4);
        for (var start = 0; ; start += step)
        {
            var end = Math.Min(length, start + window);
            yield return new Range(start, end);
            if (end == length)
            {
                yield break;
            }
        }
    }

    /// <summary>Writes lowercase letters and digits separated by single spaces; <paramref name="into"/> needs room for the text plus two.</summary>
    internal static int Normalise(string decomposed, Span<char> into)
    {
        var length = 0;
        var pendingSpace = false;
        into[length++] = ' ';
        foreach (var c in decomposed)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (char.IsLetterOrDigit(c))
            {
                if (pendingSpace && length > 1)
                {
                    into[length++] = ' ';
                }

                pendingSpace = false;
                into[length++] = char.ToLowerInvariant(c);
            }
            else
            {
                pendingSpace = true;
            }
        }

        into[length++] = ' ';
        return length;
    }

    // FNV-1a over UTF-16 code units, seeded by the gram length so 3-, 4- and 5-grams spread independently.
    private static uint Fnv1a(ReadOnlySpan<char> gram, uint seed)
    {
        var hash = 2166136261u ^ (seed * 16777619u);
        foreach (var c in gram)
        {
            hash = (hash ^ c) * 16777619u;
        }

        // A final avalanche so the low bits used for the index and the high bit used for the sign are independent.
        hash ^= hash >> 15;
        hash *= 0x2c1b3c6dU;
        hash ^= hash >> 12;
        return hash;
    }

    private static void Normalize(float[] vector)
    {
        double sum = 0;
        foreach (var v in vector)
        {
            sum += v * v;
        }

        if (sum == 0)
        {
            return;
        }

        var scale = (float)(1 / Math.Sqrt(sum));
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] *= scale;
        }
    }
}
