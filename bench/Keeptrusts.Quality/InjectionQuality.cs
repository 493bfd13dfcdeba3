namespace Keeptrusts.Quality;

internal static class InjectionQuality
{
    public static void Write(string corporaDirectory, TextWriter output) => output.WriteLine("(InjectionQuality: not measured yet)");
}
