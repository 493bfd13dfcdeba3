using System.Text.Json;

namespace Keeptrusts.Quality;

internal static class JsonLines
{
    /// <summary>The rows of a JSON Lines file, skipping blank lines. Each element lives until the next row is read.</summary>
    public static IEnumerable<JsonElement> Read(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            yield return document.RootElement;
        }
    }
}
