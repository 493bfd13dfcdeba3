using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli;

public sealed class KtCommandTests
{
    [Fact]
    public async Task Version_prints_the_kt_assembly_version_and_exits_0()
    {
        var run = await Kt.RunAsync(Environment.CurrentDirectory, "--version");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(KtVersion.Informational, run.Out.Trim());
        Assert.StartsWith("0.1.0", run.Out, StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }

    [Fact]
    public async Task No_command_is_a_usage_error_with_one_line_on_stderr()
    {
        var run = await Kt.RunAsync(Environment.CurrentDirectory);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("kt: error: ", line, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        var run = await Kt.RunAsync(Environment.CurrentDirectory, "polcy", "lint");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains("polcy", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_policy_group_and_exits_0()
    {
        var run = await Kt.RunAsync(Environment.CurrentDirectory, "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("policy", run.Out, StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }

    [Fact]
    public async Task Unexpected_exception_is_one_line_on_stderr_and_exit_2()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("policy-config.yaml", Configs.Valid);
        using var error = new StringWriter();
        using var broken = new ThrowingWriter();

        var exitCode = await KtCommand.RunAsync(["policy", "lint", "--file", file], new KtConsole(broken, error, dir.Path));

        Assert.Equal(ExitCodes.UsageOrIo, exitCode);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal("kt: error: unexpected IOException: pipe closed by the reader", line);
    }

    [Fact]
    public void OneLine_folds_line_breaks_and_tabs()
    {
        Assert.Equal("a b c", KtCommand.OneLine("a\r\n\tb\nc"));
    }

    /// <summary>Stands in for a standard output whose reader went away (a closed pipe).</summary>
    private sealed class ThrowingWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("pipe closed\nby the reader");
    }
}
