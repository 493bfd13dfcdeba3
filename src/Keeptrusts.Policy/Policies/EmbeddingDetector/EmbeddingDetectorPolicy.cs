using System.Globalization;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Policies.EmbeddingDetector;

/// <summary>
/// Compares what the caller wrote (user messages and tool results) with denied and allowed example texts. A request
/// matches when its closest denied example is at least <c>threshold</c> similar and closer than every allowed
/// example. The same rule holds for both backends; only how vectors are computed differs.
/// </summary>
internal sealed class EmbeddingDetectorPolicy : IChainPolicy
{
    public const string FindingType = "EMBEDDING_MATCH";

    private readonly EmbeddingDetectorOptions _options;
    private readonly ExternalEmbedder? _external;
    private readonly float[][] _localDeny;
    private readonly float[][] _localAllow;
    private readonly int _window;
    private Task<(float[][] Deny, float[][] Allow)>? _externalExamples;

    public EmbeddingDetectorPolicy(EmbeddingDetectorOptions options, PolicyServices services)
    {
        _options = options;
        if (options.Backend == EmbeddingBackend.External)
        {
            _external = new ExternalEmbedder(options, services.HttpClientFactory, services.Environment, services.Time);
            _localDeny = _localAllow = [];
        }
        else
        {
            _localDeny = options.Deny.Select(static e => LocalEmbedder.Embed(e)).ToArray();
            _localAllow = options.Allow.Select(static e => LocalEmbedder.Embed(e)).ToArray();
        }

        // Windows a little longer than the longest example, so an example-sized passage inside a long prompt is compared on its own.
        var longest = options.Deny.Concat(options.Allow).Select(static e => e.Length).DefaultIfEmpty(64).Max();
        _window = Math.Max(48, longest * 6 / 5);
    }

    public string Id => PolicyCatalog.EmbeddingDetector;

    public bool AppliesTo(PolicyPhase phase) => phase == PolicyPhase.Input && _options.Deny.Count > 0;

    public async ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
    {
        var best = (Score: double.NegativeInfinity, Deny: -1, AllowScore: double.NegativeInfinity, Text: -1);
        for (var t = 0; t < context.Texts.Count; t++)
        {
            var info = context.View.Texts[t];
            if (info.Role is not ("user" or "tool") || context.Texts[t].Length == 0)
            {
                continue;
            }

            var (score, deny, allowScore) = _external is null
                ? ScoreLocal(context.Texts[t])
                : await ScoreExternalAsync(context.Texts[t], cancellationToken).ConfigureAwait(false);
            if (score > best.Score)
            {
                best = (score, deny, allowScore, t);
            }
        }

        if (best.Deny < 0 || best.Score < _options.Threshold || best.AllowScore >= best.Score)
        {
            return PolicyVerdict.Allowed;
        }

        var finding = new PolicyFinding(Id, FindingType)
        {
            Text = best.Text,
            Score = Math.Round(best.Score, 4),
            Detail = string.Create(CultureInfo.InvariantCulture, $"deny[{best.Deny}]"),
        };
        var reason = string.Create(CultureInfo.InvariantCulture, $"the request is {best.Score:0.00} similar to denied example deny[{best.Deny}] (threshold {_options.Threshold:0.00})");
        return _options.Action == MatchAction.Block
            ? PolicyVerdict.Block(reason, "embedding_match", [finding])
            : PolicyVerdict.Flag(reason, [finding]);
    }

    private (double Score, int Deny, double AllowScore) ScoreLocal(string text)
    {
        var best = (Score: double.NegativeInfinity, Deny: -1, AllowScore: double.NegativeInfinity);
        foreach (var window in LocalEmbedder.Windows(text.Length, _window))
        {
            var vector = LocalEmbedder.Embed(text.AsSpan()[window]);
            var (score, deny) = Closest(vector, _localDeny);
            if (score > best.Score)
            {
                best = (score, deny, Closest(vector, _localAllow).Score);
            }
        }

        return best;
    }

    private async ValueTask<(double Score, int Deny, double AllowScore)> ScoreExternalAsync(string text, CancellationToken cancellationToken)
    {
        var examples = await ExternalExamplesAsync(cancellationToken).ConfigureAwait(false);
        var vector = (await _external!.EmbedAsync([text], cancellationToken).ConfigureAwait(false))[0];
        var (score, deny) = Closest(vector, examples.Deny);
        return (score, deny, Closest(vector, examples.Allow).Score);
    }

    private Task<(float[][] Deny, float[][] Allow)> ExternalExamplesAsync(CancellationToken cancellationToken)
    {
        // Examples are embedded once; a failed attempt is forgotten so the next request tries again.
        var task = Volatile.Read(ref _externalExamples);
        if (task is null || task.IsFaulted || task.IsCanceled)
        {
            var fresh = EmbedExamplesAsync(cancellationToken);
            task = Interlocked.CompareExchange(ref _externalExamples, fresh, task) == task ? fresh : _externalExamples!;
        }

        return task;
    }

    private async Task<(float[][] Deny, float[][] Allow)> EmbedExamplesAsync(CancellationToken cancellationToken)
    {
        var all = await _external!.EmbedAsync([.. _options.Deny, .. _options.Allow], cancellationToken).ConfigureAwait(false);
        return (all[.._options.Deny.Count], all[_options.Deny.Count..]);
    }

    private static (double Score, int Index) Closest(float[] vector, float[][] examples)
    {
        var best = (Score: double.NegativeInfinity, Index: -1);
        for (var i = 0; i < examples.Length; i++)
        {
            if (examples[i].Length != vector.Length)
            {
                throw new FormatException("the embedding endpoint returned vectors of different sizes");
            }

            var score = LocalEmbedder.Cosine(vector, examples[i]);
            if (score > best.Score)
            {
                best = (score, i);
            }
        }

        return best;
    }
}
