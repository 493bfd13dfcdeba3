namespace Keeptrusts.Policy.Tests.TestSupport;

internal static class TestFiles
{
    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "TestData");

    public static IEnumerable<string> SeedExamples() =>
        Directory.EnumerateFiles(Path.Combine(DataDirectory, "seeds"), "*.yaml").Order(StringComparer.Ordinal);

    /// <summary>A scratch directory removed when disposed.</summary>
    public sealed class TempDirectory : IDisposable
    {
        public TempDirectory() => Directory.CreateDirectory(Path);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kt-tests-" + Guid.NewGuid().ToString("N"));

        public string Write(string name, string text)
        {
            var file = System.IO.Path.Combine(Path, name);
            File.WriteAllText(file, text);
            return file;
        }

        public string Write(string name, byte[] bytes)
        {
            var file = System.IO.Path.Combine(Path, name);
            File.WriteAllBytes(file, bytes);
            return file;
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
