using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// The learned half of the injection detector: a logistic-regression model over <see cref="InjectionFeatures"/>,
/// with 8-bit weights (32 KB, so the table stays in the first-level cache) shipped as an embedded resource and
/// produced by <c>dotnet run --project bench/Keeptrusts.Quality -- train</c> from the shared corpora and the
/// hand-written rows beside that tool.
/// </summary>
/// <remarks>
/// The model catches what the rules were not written for (paraphrased overrides, persona framings, extraction in
/// disguise, other languages); the rules keep explaining the common cases and stay authoritative for precision on
/// benign text full of trigger words. Scoring allocates nothing: one pass over the normalised text, one table
/// look-up per feature.
/// </remarks>
internal sealed class InjectionModel
{
    /// <summary>The name of the embedded resource that holds the shipped weights.</summary>
    public const string ResourceName = "Keeptrusts.Policy.injection-model.bin";

    private const uint Magic = 0x4D49544B; // "KTIM"
    private const int Version = 1;
    private const int HeaderBytes = 24;

    /// <summary>How much of the weaker score is added to the stronger (see <see cref="Combine"/>).</summary>
    public const double CorroborationWeight = 0.5;

    private static readonly Lazy<InjectionModel> Shipped = new(LoadShipped);

    private readonly sbyte[] _weights;

    /// <summary>Initializes a new instance of the <see cref="InjectionModel"/> class.</summary>
    /// <param name="weights">One quantised weight per bucket.</param>
    /// <param name="scale">The factor that turns a quantised weight back into a real one.</param>
    /// <param name="bias">The intercept.</param>
    /// <param name="threshold">The probability at which the model alone reaches the detector's default threshold.</param>
    public InjectionModel(sbyte[] weights, float scale, float bias, float threshold)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length != InjectionFeatures.BucketCount)
        {
            throw new ArgumentException($"Expected {InjectionFeatures.BucketCount} weights but got {weights.Length}.", nameof(weights));
        }

        if (!(threshold is > 0.5f and < 1f) || !float.IsFinite(scale) || !float.IsFinite(bias))
        {
            throw new ArgumentException("The model's scale, bias and threshold must be finite and the threshold in (0.5, 1).");
        }

        _weights = weights;
        Scale = scale;
        Bias = bias;
        Threshold = threshold;
    }

    /// <summary>Gets the model built into the package.</summary>
    public static InjectionModel BuiltIn => Shipped.Value;

    /// <summary>Gets the quantisation scale.</summary>
    public float Scale { get; }

    /// <summary>Gets the intercept.</summary>
    public float Bias { get; }

    /// <summary>Gets the probability at which the model alone reaches the detector's default threshold.</summary>
    public float Threshold { get; }

    /// <summary>Returns the quantised weight of one bucket (for training tools and tests).</summary>
    public int WeightAt(int bucket) => _weights[bucket];

    /// <summary>
    /// Returns the model's injection probability for text already folded by <see cref="InjectionTextNormalizer"/>.
    /// Text longer than <see cref="WindowFeatures"/> features is scored as overlapping windows of that size (stride
    /// half a window) and the strongest window counts, so an attack padded with pages of benign text is not averaged
    /// away and repeating harmless text cannot drift the score.
    /// </summary>
    public double Probability(ReadOnlySpan<char> normalized)
    {
        var sink = new WindowedSum(_weights);
        var count = InjectionFeatures.Extract(normalized, ref sink);
        if (count == 0)
        {
            return 0;
        }

        var best = sink.Finish(count);
        var z = Bias + (Scale * best);
        return 1.0 / (1.0 + Math.Exp(-z));
    }

    /// <summary>
    /// Maps a model probability onto the rules' score scale, where <see cref="InjectionDetectorOptions.DefaultThreshold"/>
    /// means "injection": the model's own threshold lands exactly there and 1 stays 1. A model that leans benign
    /// (probability at most one half) adds nothing, so clean text keeps a score of 0 and the model cannot corroborate
    /// a weak rule cue unless it leans towards injection itself.
    /// </summary>
    public static double Evidence(double probability, double modelThreshold)
    {
        const double pivot = InjectionDetectorOptions.DefaultThreshold;
        const double floor = 0.5;
        if (probability <= floor)
        {
            return 0;
        }

        return probability < modelThreshold
            ? pivot * probability / modelThreshold
            : pivot + ((1 - pivot) * (probability - modelThreshold) / (1 - modelThreshold));
    }

    /// <summary>
    /// Combines the rules' score with the model's evidence: the stronger of the two decides, and when both lean the
    /// same way a little of the weaker one is added, so a weak rule cue and a hesitant model together can cross the
    /// threshold that neither crosses alone.
    /// </summary>
    public static double Combine(double ruleScore, double modelEvidence)
    {
        var high = Math.Max(ruleScore, modelEvidence);
        var low = Math.Min(ruleScore, modelEvidence);
        return Math.Clamp(high + (CorroborationWeight * low * (1 - high)), 0, 1);
    }

    /// <summary>Serialises a model in the embedded-resource format.</summary>
    public void Write(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], InjectionFeatures.BucketBits);
        BinaryPrimitives.WriteSingleLittleEndian(header[12..], Scale);
        BinaryPrimitives.WriteSingleLittleEndian(header[16..], Bias);
        BinaryPrimitives.WriteSingleLittleEndian(header[20..], Threshold);
        destination.Write(header);
        destination.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_weights.AsSpan()));
    }

    /// <summary>Reads a model written by <see cref="Write"/>.</summary>
    /// <exception cref="InvalidDataException">The data is not a model of this version and shape.</exception>
    public static InjectionModel Read(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Span<byte> header = stackalloc byte[HeaderBytes];
        source.ReadExactly(header);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic
            || BinaryPrimitives.ReadInt32LittleEndian(header[4..]) != Version
            || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != InjectionFeatures.BucketBits)
        {
            throw new InvalidDataException("Not an injection model of this version and size.");
        }

        var weights = new sbyte[InjectionFeatures.BucketCount];
        source.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        return new InjectionModel(
            weights,
            BinaryPrimitives.ReadSingleLittleEndian(header[12..]),
            BinaryPrimitives.ReadSingleLittleEndian(header[16..]),
            BinaryPrimitives.ReadSingleLittleEndian(header[20..]));
    }

    private static InjectionModel LoadShipped()
    {
        using var stream = typeof(InjectionModel).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the build.");
        return Read(stream);
    }

    /// <summary>Features per scoring window (about sixty words).</summary>
    public const int WindowFeatures = 160;

    // Two interleaved window accumulators: A covers [0, W), [W, 2W) ...; B covers [W/2, 3W/2) ...
    private struct WindowedSum(sbyte[] weights) : IInjectionFeatureSink
    {
        private const int Half = WindowFeatures / 2;
        private int _seen;
        private int _total;
        private int _a;
        private int _aCount;
        private int _b;
        private int _bCount;
        private double _best;
        private bool _hasBest;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(int bucket)
        {
            int w = weights[bucket];
            _total += w;
            _a += w;
            if (++_aCount == WindowFeatures)
            {
                Close(ref _a, ref _aCount);
            }

            if (_seen++ >= Half)
            {
                _b += w;
                if (++_bCount == WindowFeatures)
                {
                    Close(ref _b, ref _bCount);
                }
            }
        }

        public double Finish(int count)
        {
            if (count <= WindowFeatures)
            {
                return _total / Math.Sqrt(count);
            }

            // Trailing partial windows of at least half a window count too; one of the two always has that many.
            if (_aCount >= Half)
            {
                Close(ref _a, ref _aCount);
            }

            if (_bCount >= Half)
            {
                Close(ref _b, ref _bCount);
            }

            return _best;
        }

        private void Close(ref int sum, ref int n)
        {
            var score = sum / Math.Sqrt(n);
            if (!_hasBest || score > _best)
            {
                _best = score;
                _hasBest = true;
            }

            sum = 0;
            n = 0;
        }
    }
}
