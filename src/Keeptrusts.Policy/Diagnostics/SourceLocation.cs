namespace Keeptrusts.Policy.Diagnostics;

/// <summary>A position in a configuration source: file, 1-based line and 1-based column.</summary>
/// <param name="File">The file path or source name the position belongs to.</param>
/// <param name="Line">The 1-based line, or 0 when the position is the whole file.</param>
/// <param name="Column">The 1-based column, or 0 when the position is the whole file.</param>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    /// <summary>A location that names only a file.</summary>
    /// <param name="file">The file path or source name.</param>
    /// <returns>A location at line 0, column 0.</returns>
    public static SourceLocation OfFile(string file) => new(file, 0, 0);

    /// <summary>Formats the location the way compilers do: <c>file:line:column</c>.</summary>
    /// <returns>The formatted location.</returns>
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}
