using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Policies.EmbeddingDetector;

/// <summary>Where embeddings are computed.</summary>
internal enum EmbeddingBackend
{
    /// <summary>In process: hashed character n-grams, no model and no network.</summary>
    Local,

    /// <summary>An OpenAI-compatible <c>/v1/embeddings</c> endpoint.</summary>
    External,
}

/// <summary>What a match does.</summary>
internal enum MatchAction
{
    /// <summary>Reject the request.</summary>
    Block,

    /// <summary>Record the match and let the request through.</summary>
    Warn,
}

/// <summary>Settings of <c>embedding-detector</c>.</summary>
internal sealed record EmbeddingDetectorOptions : PolicyOptions
{
    public EmbeddingBackend Backend { get; init; } = EmbeddingBackend.Local;

    public string? Endpoint { get; init; }

    public string? Model { get; init; }

    public SecretKeyRef? SecretKeyRef { get; init; }

    public int TimeoutMs { get; init; } = 3_000;

    public double Threshold { get; init; } = 0.85;

    public IReadOnlyList<string> Deny { get; init; } = [];

    public IReadOnlyList<string> Allow { get; init; } = [];

    public MatchAction Action { get; init; } = MatchAction.Block;

    public int CacheSize { get; init; } = 1_024;
}
