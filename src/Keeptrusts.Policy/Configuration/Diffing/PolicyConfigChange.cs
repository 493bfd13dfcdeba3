namespace Keeptrusts.Policy.Configuration;

/// <summary>What happened to a part of the configuration between two versions.</summary>
public enum PolicyConfigChangeKind
{
    /// <summary>Present only in the newer configuration.</summary>
    Added,

    /// <summary>Present only in the older configuration.</summary>
    Removed,

    /// <summary>Present in both, with a different value.</summary>
    Modified,
}

/// <summary>One difference between two configurations.</summary>
/// <param name="Kind">Added, removed or modified.</param>
/// <param name="Path">The document path, with list items named by id: <c>providers.targets[openai-primary].model</c>.</param>
public sealed record PolicyConfigChange(PolicyConfigChangeKind Kind, string Path)
{
    /// <summary>Formats the change as <c>~ path</c>, <c>+ path</c> or <c>- path</c>.</summary>
    /// <returns>The formatted change.</returns>
    public override string ToString() => Kind switch
    {
        PolicyConfigChangeKind.Added => "+ " + Path,
        PolicyConfigChangeKind.Removed => "- " + Path,
        _ => "~ " + Path,
    };
}
