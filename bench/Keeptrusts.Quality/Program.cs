// Measures the built-in detectors against the shared corpora and prints markdown tables.
// Usage: dotnet run -c Release --project bench/Keeptrusts.Quality -- [corpora-dir]
// The default corpora directory is ../shared/corpora relative to the repository root.
using Keeptrusts.Quality;

var corpora = args.Length > 0 ? args[0] : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/corpora"));
if (!Directory.Exists(corpora))
{
    Console.Error.WriteLine($"kt-quality: corpora directory not found: {corpora}");
    return 2;
}

PiiQuality.Write(corpora, Console.Out);
Console.Out.WriteLine();
InjectionQuality.Write(corpora, Console.Out);
return 0;
