using System.IO.Compression;
using System.Xml.Linq;

namespace Keeptrusts.Packaging.Tests;

/// <summary>The packages as a user gets them: installed from a feed, not referenced as projects.</summary>
[Collection(PackedFeedCollection.Name)]
public sealed class PackagesTests(PackedFeed feed)
{
    [Theory]
    [InlineData("Keeptrusts.Policy")]
    [InlineData("Keeptrusts.Providers")]
    [InlineData("Keeptrusts.HttpHandler")]
    [InlineData("Keeptrusts.AspNetCore")]
    [InlineData("Keeptrusts.Valkey")]
    [InlineData("Keeptrusts.GatewayHost")]
    public void Every_package_carries_its_metadata_readme_licence_and_symbols(string id)
    {
        var package = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");

        Assert.True(File.Exists(package), $"{package} was not packed");
        Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), $"{id} has no symbol package");
        using var zip = ZipFile.OpenRead(package);
        var nuspec = XDocument.Load(zip.Entries.Single(static e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var metadata = nuspec.Root!.Elements().Single(static e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        var repository = metadata.Elements().Single(static e => e.Name.LocalName == "repository");

        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
        Assert.StartsWith("https://", Value("projectUrl"), StringComparison.Ordinal);
        Assert.Contains("keeptrusts", Value("tags"), StringComparison.Ordinal);
        Assert.Equal("Apache-2.0", Value("license"));
        Assert.Equal("README.md", Value("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")));
        Assert.Contains(zip.Entries, static e => e.FullName == "README.md");
        if (id != "Keeptrusts.GatewayHost")
        {
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml");
        }
    }

    [Fact]
    public async Task The_kt_tool_installs_from_the_feed_reports_its_version_and_lints_the_sample()
    {
        var tools = Path.Combine(feed.Root, "tools");
        var config = Path.Combine(feed.Root, "tool-nuget.config");
        await File.WriteAllTextAsync(config, feed.NuGetConfig());

        var install = await Programs.DotnetAsync(feed.Root, "tool", "install", "Keeptrusts.GatewayHost", "--tool-path", tools, "--version", feed.Version, "--configfile", config);
        Assert.True(install.ExitCode == 0, install.Output);

        var kt = Path.Combine(tools, OperatingSystem.IsWindows() ? "kt.exe" : "kt");
        var version = await Programs.RunAsync(kt, feed.Root, "--version");
        var lint = await Programs.RunAsync(kt, feed.Root, "policy", "lint", "--file", Path.Combine(feed.Repository, "samples", "quickstart", "policy-config.yaml"));

        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith(feed.Version, version.Output.Trim(), StringComparison.Ordinal);
        Assert.True(lint.ExitCode == 0, lint.Output);
    }

    [Fact]
    public async Task A_console_app_that_references_the_handler_package_sees_a_redaction()
    {
        var app = Path.Combine(feed.Root, "console-app");
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), feed.NuGetConfig());
        await File.WriteAllTextAsync(Path.Combine(app, "ConsoleApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Keeptrusts.HttpHandler" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), ConsoleProgram);

        var run = await Programs.DotnetAsync(app, "run");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("upstream saw: mail [REDACTED:EMAIL_ADDRESS] today", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.org", run.Output, StringComparison.Ordinal);
    }

    private const string ConsoleProgram = """"
        using System.Net;
        using System.Text;
        using System.Text.Json;
        using Keeptrusts.HttpHandler;
        using Keeptrusts.Policy.Configuration;
        using Keeptrusts.Policy.Evaluation;

        var loaded = PolicyConfigLoader.Parse("""
            pack: { name: packaging-check, version: 0.1.0 }
            policies:
              chain: [pii-detector]
            policy:
              pii-detector: { action: redact }
            """);
        if (loaded.Config is null)
        {
            Console.WriteLine(string.Join(Environment.NewLine, loaded.Diagnostics));
            return 1;
        }

        await using var engine = PolicyEngine.Create(loaded.Config);
        var upstream = new Upstream();
        using var http = new HttpClient(new KeeptrustsPolicyHandler(engine) { InnerHandler = upstream });
        using var body = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail jane.doe@example.org today"}]}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("https://api.openai.com/v1/chat/completions", body);
        Console.WriteLine($"status: {(int)response.StatusCode}");
        Console.WriteLine($"upstream saw: {upstream.Seen}");
        return response.IsSuccessStatusCode ? 0 : 1;

        sealed class Upstream : HttpMessageHandler
        {
            public string? Seen { get; private set; }

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                using var json = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
                Seen = json.RootElement.GetProperty("messages")[0].GetProperty("content").GetString();
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent("""{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"sent"},"finish_reason":"stop"}]}""", Encoding.UTF8, "application/json"),
                };
            }
        }
        """";
}
