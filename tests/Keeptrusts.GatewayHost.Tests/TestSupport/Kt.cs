using Keeptrusts.GatewayHost.Cli;

namespace Keeptrusts.GatewayHost.Tests.TestSupport;

/// <summary>What one run of <c>kt</c> produced.</summary>
internal sealed record KtRun(int ExitCode, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

internal static class Kt
{
    /// <summary>
    /// Generous on purpose: each run takes well under a second, and the limit exists only so that a hang fails
    /// the test instead of stalling the run.
    /// </summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(30);

    /// <summary>Runs the command tree in-process with captured output, from <paramref name="workingDirectory"/>'s point of view.</summary>
    public static Task<KtRun> RunAsync(string workingDirectory, params string[] args) => RunWithInputAsync(workingDirectory, string.Empty, args);

    /// <summary>Runs the command tree with <paramref name="stdin"/> as standard input.</summary>
    public static async Task<KtRun> RunWithInputAsync(string workingDirectory, string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(stdin);
        var console = new KtConsole(output, error, workingDirectory) { In = input };

        // Task.Run so a synchronous hang inside the command still lets the timeout fire.
        var exitCode = await Task.Run(() => KtCommand.RunAsync(args, console)).WaitAsync(HangLimit);
        return new KtRun(exitCode, output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal), error.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}

/// <summary>A scratch directory removed when disposed.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kt-cli-tests-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, string text)
    {
        var file = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, text.ReplaceLineEndings("\n"));
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

/// <summary>Configuration documents the tests lint.</summary>
internal static class Configs
{
    public const string Valid = """
        pack:
          name: team-alpha
          version: 0.1.0
        policies:
          chain: [pii-detector]
        policy:
          pii-detector: { action: redact }
        providers:
          targets:
            - id: openai-primary
              provider: openai
              model: gpt-4o
              base_url: https://api.openai.com
              secret_key_ref: { env: OPENAI_API_KEY }
        """;

    /// <summary>Valid, plus one unknown key (KT1102, a warning) on line 11.</summary>
    public const string WarningsOnly = """
        pack:
          name: team-alpha
          version: 0.1.0
        policies:
          chain: [pii-detector]
        providers:
          targets:
            - id: openai-primary
              provider: openai
              base_url: https://api.openai.com
              colour: red
        """;

    /// <summary>KT2002 at 2:9, KT2101 at 5:11, KT2202 at 9:17 (errors) and KT1102 at 10:7 (warning).</summary>
    public const string Errors = """
        pack:
          name: Bad Name
          version: 0.1.0
        policies:
          chain: [pii-detectr]
        providers:
          targets:
            - id: legacy
              provider: webhook
              colour: red
        """;

    /// <summary>Layered over <see cref="Valid"/>: the target's provider becomes a rejected family on line 5.</summary>
    public const string RejectingOverlay = """
        providers:
          targets:
            - id: openai-primary
              model: gpt-4o-mini
              provider: webhook
        """;
}
