using System.Text.RegularExpressions;

namespace Keeptrusts.Packaging.Tests;

/// <summary>
/// No container engine runs here, so the image is checked against what it is built from: every path the Dockerfile
/// copies exists, every file its commands name is in the published output, and its health check passes when run
/// against that output.
/// </summary>
[Collection(PackedFeedCollection.Name)]
public sealed partial class DockerfileTests(PackedFeed feed)
{
    private const string ImageConfig = "/etc/keeptrusts/policy-config.yaml";

    [Fact]
    public void Every_source_the_Dockerfile_and_compose_file_copy_or_mount_exists_in_the_repository()
    {
        var instructions = Instructions();
        var copies = instructions.Where(static i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            var parts = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1])
            {
                Assert.True(File.Exists(Path.Combine(feed.Repository, source)) || Directory.Exists(Path.Combine(feed.Repository, source)), $"COPY names {source}, which is not in the repository");
            }
        }

        var publish = instructions.Single(static i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(feed.Repository, ProjectPath().Match(publish.Arguments).Value)), publish.Arguments);
        foreach (Match mount in ComposeMount().Matches(File.ReadAllText(Path.Combine(feed.Repository, "docker-compose.yml"))))
        {
            Assert.True(File.Exists(Path.Combine(feed.Repository, mount.Groups["source"].Value)), $"docker-compose.yml mounts {mount.Value}, which is not in the repository");
        }
    }

    [Fact]
    public void The_image_runs_as_a_non_root_user_exposes_41002_and_mounts_the_configuration_where_the_commands_read_it()
    {
        var instructions = Instructions();

        Assert.Equal("$APP_UID", instructions.Last(static i => i.Keyword == "USER").Arguments);
        Assert.Equal("41002", instructions.Single(static i => i.Keyword == "EXPOSE").Arguments);
        Assert.Contains(instructions, static i => i.Keyword == "COPY" && i.Arguments.EndsWith(" " + ImageConfig, StringComparison.Ordinal));
        Assert.Contains(ImageConfig, instructions.Single(static i => i.Keyword == "CMD").Arguments, StringComparison.Ordinal);
        Assert.Contains(ImageConfig, instructions.Single(static i => i.Keyword == "HEALTHCHECK").Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_output_holds_what_the_entrypoint_and_health_check_run_and_the_health_check_passes()
    {
        var output = Path.Combine(feed.Root, "publish");
        var publish = await Programs.DotnetAsync(feed.Sources, "publish", "src/Keeptrusts.GatewayHost/Keeptrusts.GatewayHost.csproj", "-c", "Release", "-o", output, $"-p:Version={feed.Version}");
        Assert.True(publish.ExitCode == 0, publish.Output);
        var instructions = Instructions();
        var entrypoint = JsonArray(instructions.Single(static i => i.Keyword == "ENTRYPOINT").Arguments);
        var health = JsonArray(instructions.Single(static i => i.Keyword == "HEALTHCHECK").Arguments[(instructions.Single(static i => i.Keyword == "HEALTHCHECK").Arguments.IndexOf("CMD", StringComparison.Ordinal) + 3)..]);

        // The runtime stage copies the publish folder to /app.
        string Local(string imagePath) => imagePath.StartsWith("/app/", StringComparison.Ordinal) ? Path.Combine(output, imagePath["/app/".Length..]) : imagePath;
        foreach (var file in entrypoint.Concat(health).Where(static a => a.StartsWith("/app/", StringComparison.Ordinal)))
        {
            Assert.True(File.Exists(Local(file)), $"{file} is not in the published output");
        }

        var sample = Path.Combine(feed.Repository, "samples", "quickstart", "policy-config.yaml");
        var check = await Programs.RunAsync(health[0], feed.Root, health.Skip(1).Select(a => a == ImageConfig ? sample : Local(a)).ToArray());
        Assert.True(check.ExitCode == 0, check.Output);
    }

    private List<(string Keyword, string Arguments)> Instructions()
    {
        var text = File.ReadAllText(Path.Combine(feed.Repository, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        return text.Split('\n')
            .Select(static l => l.Trim())
            .Where(static l => l.Length > 0 && !l.StartsWith('#'))
            .Select(static l => l.Split(' ', 2) is var p ? (p[0].ToUpperInvariant(), p.Length > 1 ? Regex.Replace(p[1].Trim(), @"\s+", " ") : string.Empty) : default)
            .ToList();
    }

    private static string[] JsonArray(string text) => System.Text.Json.JsonSerializer.Deserialize<string[]>(text.Trim())!;

    [GeneratedRegex(@"src/[\w./-]+\.csproj")]
    private static partial Regex ProjectPath();

    [GeneratedRegex(@"-\s*\./(?<source>[\w./-]+):/")]
    private static partial Regex ComposeMount();
}
