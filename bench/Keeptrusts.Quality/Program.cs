// Measures the built-in detectors against the shared corpora and prints markdown tables, and trains the learned
// injection scorer.
// Usage: dotnet run -c Release --project bench/Keeptrusts.Quality -- [corpora-dir]          in-sample tables
//        dotnet run -c Release --project bench/Keeptrusts.Quality -- loso [corpora-dir]     leave-one-source-out table
//        dotnet run -c Release --project bench/Keeptrusts.Quality -- train [corpora-dir]    rewrite the shipped model
// The default corpora directory is ../shared/corpora relative to the repository root.
using Keeptrusts.Quality;

//        dotnet run -c Release --project bench/Keeptrusts.Quality -- score < lines.txt       rules, model, combined per line
//        dotnet run -c Release --project bench/Keeptrusts.Quality -- scan < lines.txt        PII/secret matches per line
var command = args.Length > 0 && args[0] is "loso" or "train" or "score" or "scan" ? args[0] : "tables";
if (command == "score")
{
    return InjectionGeneralisation.ScoreLines(Console.In, Console.Out);
}

if (command == "scan")
{
    return PiiQuality.ScanLines(Console.In, Console.Out);
}

var rest = command == "tables" ? args : args[1..];
var repositoryRoot = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
var corpora = rest.Length > 0 ? rest[0] : Path.GetFullPath(Path.Combine(repositoryRoot, "../shared/corpora"));
if (!Directory.Exists(corpora))
{
    Console.Error.WriteLine($"kt-quality: corpora directory not found: {corpora}");
    return 2;
}

switch (command)
{
    case "loso":
        return InjectionGeneralisation.LeaveOneSourceOut(corpora, Console.Out);
    case "train":
        return InjectionGeneralisation.Train(
            corpora, Path.Combine(repositoryRoot, "src/Keeptrusts.Policy/Detection/Injection/injection-model.bin"), Console.Out);
}

PiiQuality.Write(corpora, Console.Out);
Console.Out.WriteLine();
InjectionQuality.Write(corpora, Console.Out);
return 0;
