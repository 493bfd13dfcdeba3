namespace Keeptrusts.Policy.Tests.TestSupport;

/// <summary>Where the external test corpora (<c>shared/corpora</c>) are.</summary>
internal static class Corpora
{
    /// <summary>The variable <c>.ci/run</c> sets when the corpora are not beside the checkout (e.g. a clone of a local clone).</summary>
    public const string DirectoryVariable = "KEEPTRUSTS_CORPORA_DIR";

    /// <summary>
    /// <see cref="DirectoryVariable"/> when set; otherwise the first <c>shared/corpora</c> above the test binaries (the
    /// repository is checked out next to <c>shared/</c>, locally and in CI). Absent corpora fail the test.
    /// </summary>
    public static string Directory
    {
        get
        {
            if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured)
            {
                return System.IO.Directory.Exists(configured)
                    ? configured
                    : throw new DirectoryNotFoundException($"{DirectoryVariable} names {configured}, which does not exist.");
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "corpora");
                if (System.IO.Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException($"No shared/corpora folder above {AppContext.BaseDirectory} and {DirectoryVariable} is not set; clone the repository next to shared/.");
        }
    }
}
