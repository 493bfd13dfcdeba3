using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.EmbeddingDetector;

/// <summary>The <c>embedding-detector</c> policy: similarity of the prompt to denied and allowed example texts.</summary>
internal sealed class EmbeddingDetectorDefinition : PolicyDefinition<EmbeddingDetectorOptions>
{
    public override string Id => PolicyCatalog.EmbeddingDetector;

    protected override void Check(EmbeddingDetectorOptions options, PolicyCheckContext context)
    {
        if (options.Deny.Count == 0)
        {
            context.Report(DiagnosticCodes.EmbeddingNoDenyExamples, "no 'deny' examples: the policy never matches anything; add example texts to flag");
        }

        if (options.Backend == EmbeddingBackend.External)
        {
            if (string.IsNullOrWhiteSpace(options.Endpoint))
            {
                context.Report(DiagnosticCodes.EmbeddingEndpointMissing, "the external backend needs 'endpoint', the URL of an OpenAI-compatible embeddings API", "backend");
            }

            if (string.IsNullOrWhiteSpace(options.Model))
            {
                context.Report(DiagnosticCodes.EmbeddingModelMissing, "the external backend needs 'model', the embedding model to request (e.g. text-embedding-3-small)", "backend");
            }

            if (options.SecretKeyRef is { } reference && string.IsNullOrWhiteSpace(reference.Env) == string.IsNullOrWhiteSpace(reference.Store))
            {
                context.Report(DiagnosticCodes.SecretKeyRefShape, "secret_key_ref needs exactly one of 'env' (an environment variable) or 'store' (a managed config variable)", "secret_key_ref");
            }
        }
        else
        {
            var ignored = new[] { ("endpoint", options.Endpoint is not null), ("model", options.Model is not null), ("secret_key_ref", options.SecretKeyRef is not null) }
                .Where(static s => s.Item2).Select(static s => s.Item1).ToList();
            if (ignored.Count > 0)
            {
                context.Report(DiagnosticCodes.EmbeddingExternalSettingsIgnored, $"{string.Join(", ", ignored)} only apply to 'backend: external'; the local backend ignores them", ignored[0]);
            }
        }

        var allow = new HashSet<string>(options.Allow, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Deny.Count; i++)
        {
            if (allow.Contains(options.Deny[i]))
            {
                context.Report(DiagnosticCodes.EmbeddingExampleInBothLists, $"deny[{i}] is also an allow example, so it can never match", $"deny[{i}]");
            }
        }
    }

    protected override IChainPolicy Create(EmbeddingDetectorOptions options, PolicyConfig config, PolicyServices services) =>
        new EmbeddingDetectorPolicy(options, services);
}
