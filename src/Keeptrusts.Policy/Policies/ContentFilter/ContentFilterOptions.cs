namespace Keeptrusts.Policy.Policies.ContentFilter;

/// <summary>What a deny match does.</summary>
internal enum ContentFilterAction
{
    /// <summary>The exchange is refused (400 <c>content_blocked</c>).</summary>
    Block,

    /// <summary>The exchange continues; the decision is recorded as flagged.</summary>
    Warn,
}

/// <summary>The settings of <c>content-filter</c> (<c>policy.content-filter</c>).</summary>
internal sealed record ContentFilterOptions : PolicyOptions
{
    public ContentFilterAction Action { get; init; } = ContentFilterAction.Block;

    /// <summary>Whether keywords and patterns match case-sensitively.</summary>
    public bool CaseSensitive { get; init; }

    /// <summary>The time limit of one regular-expression scan of one text; the schema limits it to 1–1000.</summary>
    public int MatchTimeoutMs { get; init; } = ContentFilterDefinition.DefaultMatchTimeoutMs;

    /// <summary>Rules applied to the request's texts.</summary>
    public ContentFilterRules? Input { get; init; }

    /// <summary>Rules applied to the response's texts.</summary>
    public ContentFilterRules? Output { get; init; }
}

/// <summary>The rules of one phase.</summary>
internal sealed record ContentFilterRules
{
    public IReadOnlyList<string> DenyKeywords { get; init; } = [];

    /// <summary>Keywords whose matches carve exceptions out of deny matches.</summary>
    public IReadOnlyList<string> AllowKeywords { get; init; } = [];

    public IReadOnlyList<string> DenyPatterns { get; init; } = [];

    /// <summary>Regular expressions whose matches carve exceptions out of deny matches.</summary>
    public IReadOnlyList<string> AllowPatterns { get; init; } = [];

    public bool HasDeny => DenyKeywords.Count > 0 || DenyPatterns.Count > 0;

    public bool HasAllow => AllowKeywords.Count > 0 || AllowPatterns.Count > 0;
}
