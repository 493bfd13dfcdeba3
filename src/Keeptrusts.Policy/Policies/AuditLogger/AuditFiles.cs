using System.Globalization;

namespace Keeptrusts.Policy.Policies.AuditLogger;

/// <summary>What the configured path points at, for the lint rules.</summary>
internal enum AuditPathState
{
    /// <summary>A file name in an existing directory.</summary>
    Usable,

    /// <summary>Empty, or not a path the platform accepts.</summary>
    Invalid,

    /// <summary>An existing directory, or a path ending in a separator.</summary>
    IsDirectory,

    /// <summary>A file name in a directory that does not exist yet.</summary>
    DirectoryMissing,
}

/// <summary>
/// The daily files of one configured path: <c>dir/name.ext</c> is written as <c>dir/name.YYYY-MM-DD.ext</c>, one
/// file per UTC date. Dated names mean a file is never renamed, so a crash can never leave half a rotation behind.
/// </summary>
internal sealed class AuditFiles
{
    private const string DateFormat = "yyyy-MM-dd";

    private readonly string _stem;
    private readonly string _extension;

    public AuditFiles(string configuredPath)
    {
        var full = System.IO.Path.GetFullPath(configuredPath);
        Directory = System.IO.Path.GetDirectoryName(full) ?? full;
        _stem = System.IO.Path.GetFileNameWithoutExtension(full);
        _extension = System.IO.Path.GetExtension(full);
    }

    public string Directory { get; }

    public string PathFor(DateOnly date) =>
        System.IO.Path.Combine(Directory, $"{_stem}.{date.ToString(DateFormat, CultureInfo.InvariantCulture)}{_extension}");

    /// <summary>The dated files that exist, oldest first. Other files in the directory are never listed.</summary>
    public IReadOnlyList<(DateOnly Date, string Path)> Existing()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var files = new List<(DateOnly, string)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (DateOf(System.IO.Path.GetFileName(path)) is { } date)
            {
                files.Add((date, path));
            }
        }

        files.Sort(static (a, b) => a.Item1.CompareTo(b.Item1));
        return files;
    }

    /// <summary>The date of a dated file name of this set, or null for any other name.</summary>
    public DateOnly? DateOf(string fileName)
    {
        var dateLength = DateFormat.Length;
        if (fileName.Length != _stem.Length + 1 + dateLength + _extension.Length
            || !fileName.StartsWith(_stem + ".", StringComparison.Ordinal)
            || !fileName.EndsWith(_extension, StringComparison.Ordinal))
        {
            return null;
        }

        var text = fileName.AsSpan(_stem.Length + 1, dateLength);
        return DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
    }

    public static AuditPathState Inspect(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            return AuditPathState.Invalid;
        }

        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return AuditPathState.Invalid;
        }

        if (System.IO.Directory.Exists(full) || System.IO.Path.EndsInDirectorySeparator(path))
        {
            return AuditPathState.IsDirectory;
        }

        var directory = System.IO.Path.GetDirectoryName(full);
        return directory is null || System.IO.Directory.Exists(directory) ? AuditPathState.Usable : AuditPathState.DirectoryMissing;
    }
}
