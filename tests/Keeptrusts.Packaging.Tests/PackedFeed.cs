using System.Diagnostics;

namespace Keeptrusts.Packaging.Tests;

/// <summary>
/// Packs every shipped project once, from a private copy of the sources (so the suite's own Debug builds and this
/// Release pack never share an <c>obj</c> folder), into a local feed with a version no other run uses.
/// </summary>
public sealed class PackedFeed : IAsyncLifetime
{
    public static readonly string[] Packages = ["Keeptrusts.Policy", "Keeptrusts.Providers", "Keeptrusts.HttpHandler", "Keeptrusts.AspNetCore", "Keeptrusts.Valkey", "Keeptrusts.GatewayHost"];

    private static readonly string[] CopiedFiles = ["Directory.Build.props", "Directory.Packages.props", "nuget.config", "global.json"];
    private static readonly string[] CopiedFolders = ["src", "schema"];

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "kt-packaging-" + Guid.NewGuid().ToString("N")[..12]);

    public string Repository { get; } = FindRepository();

    public string Version { get; } = "0.0.0-pack." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "." + Environment.ProcessId;

    public string Feed => Path.Combine(Root, "feed");

    public string Sources => Path.Combine(Root, "sources");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        foreach (var file in CopiedFiles)
        {
            File.Copy(Path.Combine(Repository, file), Path.Combine(Sources, file).EnsureDirectory());
        }

        foreach (var folder in CopiedFolders)
        {
            CopyTree(Path.Combine(Repository, folder), Path.Combine(Sources, folder));
        }

        foreach (var package in Packages)
        {
            var run = await Programs.DotnetAsync(Sources, "pack", $"src/{package}/{package}.csproj", "-c", "Release", "-o", Feed, $"-p:Version={Version}", "-p:ContinuousIntegrationBuild=true");
            Assert.True(run.ExitCode == 0, $"dotnet pack {package} failed:\n{run.Output}");
        }
    }

    public Task DisposeAsync()
    {
        // The restores put this run's unique version into the shared package cache; take it out again.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Packages)
        {
            TryDelete(Path.Combine(cache, package.ToLowerInvariant(), Version));
        }

        TryDelete(Root);
        return Task.CompletedTask;
    }

    /// <summary>A nuget.config for a scratch project: this feed first, then the repository's own sources.</summary>
    public string NuGetConfig()
    {
        var original = File.ReadAllText(Path.Combine(Repository, "nuget.config"));
        var feed = $"    <add key=\"keeptrusts-packed\" value=\"{Feed}\" />{Environment.NewLine}";
        var at = original.IndexOf("<clear />", StringComparison.Ordinal);
        Assert.True(at >= 0, "nuget.config is expected to clear inherited sources");
        var insert = original.IndexOf('\n', at) + 1;
        return original[..insert] + feed + original[insert..];
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Any(static p => p is "bin" or "obj"))
            {
                continue;
            }

            File.Copy(file, Path.Combine(to, relative).EnsureDirectory());
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Keeptrusts.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Keeptrusts.Sdk.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The test classes that share one packed feed (packing takes a minute or more).</summary>
[CollectionDefinition(Name)]
public sealed class PackedFeedCollection : ICollectionFixture<PackedFeed>
{
    public const string Name = "packed feed";
}

/// <summary>What one run of a program printed.</summary>
public sealed record ProcessRun(int ExitCode, string Output);

internal static class Programs
{
    // Restores may reach the package source, and a build of the whole tool on a loaded machine takes minutes: the
    // limit only turns a hang into a failure.
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);

    public static Task<ProcessRun> DotnetAsync(string workingDirectory, params string[] args) => RunAsync("dotnet", workingDirectory, args);

    public static async Task<ProcessRun> RunAsync(string fileName, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // A build server started here would outlive the test run and keep the scratch folders open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish within {Limit.TotalMinutes} minutes");
        }

        return new ProcessRun(process.ExitCode, await stdout + await stderr);
    }
}

internal static class PathExtensions
{
    public static string EnsureDirectory(this string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return file;
    }
}
