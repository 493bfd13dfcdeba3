using System.Text.Json;
using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Tests.TestSupport;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy;

public sealed class PolicyLintCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    [InlineData("sarif")]
    public async Task Valid_config_exits_0_in_every_format(string format)
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", format);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.NotEmpty(run.Out);
    }

    [Fact]
    public async Task Valid_config_in_text_says_no_problems()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "-f", file);

        Assert.Equal(["no problems found in 1 file"], run.OutLines);
    }

    [Fact]
    public async Task Warnings_only_exit_0_and_are_listed()
    {
        var file = _dir.Write("policy-config.yaml", Configs.WarningsOnly);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(2, run.OutLines.Length);
        Assert.StartsWith($"{file}:11:7: warning KT1102: unknown key 'colour'", run.OutLines[0], StringComparison.Ordinal);
        Assert.EndsWith("[providers.targets[0].colour]", run.OutLines[0], StringComparison.Ordinal);
        Assert.Equal("0 errors, 1 warning", run.OutLines[1]);
    }

    [Fact]
    public async Task Errors_exit_1_and_every_finding_is_reported_at_once_in_text()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Errors);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "text");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.Equal(
            [
                $"{file}:2:9: error KT2002",
                $"{file}:5:11: error KT2101",
                $"{file}:9:17: error KT2202",
                $"{file}:10:7: warning KT1102",
            ],
            run.OutLines[..^1].Select(static l => l[..l.IndexOf(": ", l.IndexOf("KT", StringComparison.Ordinal), StringComparison.Ordinal)]));
        Assert.Equal("3 errors, 1 warning", run.OutLines[^1]);
    }

    [Fact]
    public async Task Errors_exit_1_in_json()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Errors);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "json");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(["KT2002", "KT2101", "KT2202", "KT1102"], json.RootElement.EnumerateArray().Select(static e => e.GetProperty("code").GetString()));
    }

    [Fact]
    public async Task Errors_exit_1_in_sarif()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Errors);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "sarif");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var sarif = JsonDocument.Parse(run.Out);
        var results = sarif.RootElement.GetProperty("runs")[0].GetProperty("results");
        Assert.Equal(["KT2002", "KT2101", "KT2202", "KT1102"], results.EnumerateArray().Select(static r => r.GetProperty("ruleId").GetString()));
    }

    [Fact]
    public async Task Layered_files_report_the_finding_at_the_file_that_set_the_value()
    {
        var baseFile = _dir.Write("base.yaml", Configs.Valid);
        var overlay = _dir.Write("overlay.yaml", Configs.RejectingOverlay);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", baseFile, "--file", overlay);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        var finding = Assert.Single(run.OutLines[..^1]);
        Assert.StartsWith($"{overlay}:5:17: error KT2202: target 'openai-primary' uses provider 'webhook'", finding, StringComparison.Ordinal);
        Assert.EndsWith("[providers.targets[0].provider]", finding, StringComparison.Ordinal);
        Assert.Equal("1 error, 0 warnings", run.OutLines[^1]);
    }

    [Fact]
    public async Task Layering_order_matters_the_later_file_wins()
    {
        var baseFile = _dir.Write("base.yaml", Configs.Valid);
        var overlay = _dir.Write("overlay.yaml", Configs.RejectingOverlay);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", overlay, "--file", baseFile);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(["no problems found in 2 files"], run.OutLines);
    }

    [Fact]
    public async Task Several_files_after_one_flag_are_layered_too()
    {
        var baseFile = _dir.Write("base.yaml", Configs.Valid);
        var overlay = _dir.Write("overlay.yaml", Configs.RejectingOverlay);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "-f", baseFile, overlay, "--format", "json");

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(overlay, json.RootElement[0].GetProperty("file").GetString());
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    [InlineData("sarif")]
    public async Task Missing_file_exits_2_with_one_line_on_stderr_and_nothing_on_stdout(string format)
    {
        var missing = Path.Combine(_dir.Path, "x.yaml");

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", missing, "--format", format);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal([$"kt: error: file not found: {missing}"], run.ErrorLines);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task A_missing_layer_is_reported_even_when_the_other_layers_exist()
    {
        var present = _dir.Write("base.yaml", Configs.Valid);
        var missing = Path.Combine(_dir.Path, "overlay.yaml");

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", present, "--file", missing);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal([$"kt: error: file not found: {missing}"], run.ErrorLines);
    }

    [Fact]
    public async Task A_directory_is_not_a_file()
    {
        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", _dir.Path);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal([$"kt: error: not a file (it is a directory): {_dir.Path}"], run.ErrorLines);
    }

    [Fact]
    public async Task Missing_file_option_is_a_usage_error()
    {
        var run = await Kt.RunAsync(_dir.Path, "policy", "lint");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("kt: error: ", line, StringComparison.Ordinal);
        Assert.Contains("--file", line, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task Unknown_format_is_a_usage_error()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, "--format", "xml");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("kt: error: ", line, StringComparison.Ordinal);
        Assert.Contains("'xml'", line, StringComparison.Ordinal);
        Assert.Contains("sarif", line, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("-x")]
    public async Task Unknown_option_after_the_files_is_a_usage_error_not_a_file_name(string option)
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--file", file, option);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains(option, Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task Unknown_option_before_the_files_is_a_usage_error()
    {
        var file = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--strict", "--file", file);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains("--strict", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_even_without_the_required_file()
    {
        var run = await Kt.RunAsync(_dir.Path, "policy", "lint", "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("--format", run.Out, StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }
}
