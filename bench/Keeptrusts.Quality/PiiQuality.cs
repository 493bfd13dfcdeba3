namespace Keeptrusts.Quality;

internal static class PiiQuality
{
    public static void Write(string corporaDirectory, TextWriter output) => output.WriteLine("(PiiQuality: not measured yet)");
}
