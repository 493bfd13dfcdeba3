namespace Keeptrusts.Policy.Configuration;

/// <summary>One layer of configuration text and the name findings about it should use.</summary>
/// <param name="Name">A file path or another name shown in diagnostics.</param>
/// <param name="Text">The YAML text.</param>
public sealed record PolicyConfigSource(string Name, string Text);
