using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.GatewayHost.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.GatewayHost.Tests.Gateway;

/// <summary><c>kt gateway run</c>'s flags and environment variables, resolved without starting a server.</summary>
public sealed class GatewayRunOptionsTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnvironment = [];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Defaults_follow_the_flag_table()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var settings = Resolve(NoEnvironment, "--policy-config", config);

        Assert.Equal("0.0.0.0:41002", settings.Listen.ToString());
        Assert.Equal([config], settings.ConfigFiles);
        Assert.Equal(FailMode.Block, settings.FailMode);
        Assert.Equal(16, settings.MaxConcurrency);
        Assert.Null(settings.ApiToken);
        Assert.Null(settings.Upstream);
        Assert.Null(settings.UpstreamApiKeyHeader);
        Assert.Null(settings.UpstreamApiKeyPrefix);
        Assert.Null(settings.ApiUrl);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.ShutdownTimeout);
        Assert.True(settings.WatchConfigFiles);
    }

    [Fact]
    public void Environment_variables_fill_what_flags_leave_out()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);
        var env = new Dictionary<string, string>
        {
            ["KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY"] = "4",
            ["KEEPTRUSTS_GATEWAY_TOKEN"] = "kt_gw_env",
            ["KEEPTRUSTS_UPSTREAM_URL"] = "http://127.0.0.1:9/v1",
            ["KEEPTRUSTS_UPSTREAM_API_KEY"] = "sk-env",
            ["KEEPTRUSTS_UPSTREAM_API_KEY_HEADER"] = "api-key",
            ["KEEPTRUSTS_UPSTREAM_API_KEY_PREFIX"] = "",
            ["KEEPTRUSTS_API_URL"] = "https://api.example.com",
        };

        var settings = Resolve(env, "-c", config);

        Assert.Equal(4, settings.MaxConcurrency);
        Assert.Equal("kt_gw_env", settings.ApiToken);
        Assert.Equal(new Uri("http://127.0.0.1:9/v1"), settings.Upstream);
        Assert.Equal("sk-env", settings.UpstreamApiKey);
        Assert.Equal("api-key", settings.UpstreamApiKeyHeader);
        Assert.Equal(string.Empty, settings.UpstreamApiKeyPrefix);
        Assert.Equal(new Uri("https://api.example.com"), settings.ApiUrl);
    }

    [Fact]
    public void A_flag_beats_its_environment_variable()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);
        var env = new Dictionary<string, string>
        {
            ["KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY"] = "4",
            ["KEEPTRUSTS_GATEWAY_TOKEN"] = "kt_gw_env",
            ["KEEPTRUSTS_UPSTREAM_URL"] = "http://127.0.0.1:9",
            ["KEEPTRUSTS_UPSTREAM_API_KEY"] = "sk-env",
            ["KEEPTRUSTS_UPSTREAM_API_KEY_HEADER"] = "api-key",
            ["KEEPTRUSTS_UPSTREAM_API_KEY_PREFIX"] = "Token",
        };

        var settings = Resolve(env, "-c", config, "--max-concurrency", "32", "--api-token", "kt_gw_flag", "--upstream", "https://127.0.0.1:8443",
            "--upstream-api-key", "sk-flag", "--upstream-api-key-header", "x-api-key", "--upstream-api-key-prefix", "Key", "--fail-mode", "allow", "--listen", "127.0.0.1:0");

        Assert.Equal(32, settings.MaxConcurrency);
        Assert.Equal("kt_gw_flag", settings.ApiToken);
        Assert.Equal(new Uri("https://127.0.0.1:8443"), settings.Upstream);
        Assert.Equal("sk-flag", settings.UpstreamApiKey);
        Assert.Equal("x-api-key", settings.UpstreamApiKeyHeader);
        Assert.Equal("Key", settings.UpstreamApiKeyPrefix);
        Assert.Equal(FailMode.Allow, settings.FailMode);
        Assert.Equal("127.0.0.1:0", settings.Listen.ToString());
    }

    [Fact]
    public void Policy_config_repeats_in_order_and_the_seed_spellings_work()
    {
        var a = _dir.Write("a.yaml", Configs.Valid);
        var b = _dir.Write("b.yaml", Configs.RejectingOverlay);

        var settings = Resolve(NoEnvironment, "--policy-config", a, "--config", b, "--port", "9090");

        Assert.Equal([a, b], settings.ConfigFiles);
        Assert.Equal("0.0.0.0:9090", settings.Listen.ToString());
    }

    [Fact]
    public void Policy_config_yaml_in_the_working_directory_is_the_default()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var settings = Resolve(NoEnvironment);

        Assert.Equal([config], settings.ConfigFiles);
    }

    [Theory]
    [InlineData("0.0.0.0:41002", "0.0.0.0:41002")]
    [InlineData("127.0.0.1:8080", "127.0.0.1:8080")]
    [InlineData("[::]:41002", "[::]:41002")]
    [InlineData("[::1]:0", "[::1]:0")]
    [InlineData("localhost:41002", "localhost:41002")]
    [InlineData("LOCALHOST:1", "localhost:1")]
    [InlineData("*:41002", "0.0.0.0:41002")]
    [InlineData(":41002", "0.0.0.0:41002")]
    public void Listen_addresses_parse(string text, string expected)
    {
        Assert.True(ListenAddress.TryParse(text, out var address, out var problem), problem);

        Assert.Equal(expected, address.ToString());
    }

    [Theory]
    [InlineData("41002", "not host:port")]
    [InlineData("0.0.0.0", "not host:port")]
    [InlineData("0.0.0.0:99999", "from 0 to 65535")]
    [InlineData("0.0.0.0:http", "from 0 to 65535")]
    [InlineData("::1:80", "in brackets")]
    [InlineData("[::1]80", "[::1]:41002")]
    [InlineData("gateway.example.com:80", "must be an IP address")]
    [InlineData("[127.0.0.1]:80", "must be an IP address")]
    public async Task An_invalid_listen_address_is_a_usage_error(string listen, string expected)
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "--policy-config", config, "--listen", listen);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("kt: error: --listen: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Theory]
    [InlineData("--max-concurrency", "0", "--max-concurrency must be a positive integer")]
    [InlineData("--max-concurrency", "many", "many")]
    [InlineData("--fail-mode", "maybe", "maybe")]
    [InlineData("--port", "70000", "--port must be from 0 to 65535")]
    public async Task Invalid_flag_values_are_usage_errors(string flag, string value, string expected)
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "--policy-config", config, flag, value);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains(expected, Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY", "0", "KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY must be a positive integer, found '0'")]
    [InlineData("KEEPTRUSTS_GATEWAY_MAX_CONCURRENCY", "sixteen", "found 'sixteen'")]
    [InlineData("KEEPTRUSTS_UPSTREAM_URL", "ftp://files", "KEEPTRUSTS_UPSTREAM_URL must be an absolute http or https URL")]
    [InlineData("KEEPTRUSTS_API_URL", "api.keeptrusts.com", "KEEPTRUSTS_API_URL must be an absolute http or https URL")]
    [InlineData("KEEPTRUSTS_UPSTREAM_API_KEY_HEADER", "Bad Header", "is not a valid HTTP header name")]
    public async Task Invalid_environment_values_are_usage_errors_naming_the_variable(string variable, string value, string expected)
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await KtWithEnvironment.RunAsync(_dir.Path, new Dictionary<string, string> { [variable] = value }, "gateway", "run", "--policy-config", config);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Contains(expected, Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_url_with_credentials_is_refused_without_echoing_them()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Valid);

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "-c", config, "--upstream", "https://user:hunter2@example.com");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.DoesNotContain("hunter2", run.Error, StringComparison.Ordinal);
        Assert.Contains("--upstream must be an absolute http or https URL without credentials", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_any_configuration_the_gateway_does_not_start()
    {
        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal("kt: error: no configuration: pass --policy-config <path> (or run where policy-config.yaml is), or set KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN for hosted mode", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task A_missing_file_is_one_line_and_exit_2()
    {
        var missing = Path.Combine(_dir.Path, "nope.yaml");

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "--policy-config", missing);

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal($"kt: error: file not found: {missing}", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task Lint_errors_are_printed_like_kt_policy_lint_and_the_gateway_never_starts()
    {
        var config = _dir.Write("policy-config.yaml", Configs.Errors);

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "--policy-config", config, "--listen", "127.0.0.1:0");
        var lint = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "policy", "lint", "--file", config);

        Assert.Equal(ExitCodes.Findings, run.ExitCode);
        Assert.Equal(lint.OutLines, run.ErrorLines[..lint.OutLines.Length]);
        Assert.Contains($"{config}:9:17: error KT2202:", run.Error, StringComparison.Ordinal);
        Assert.Equal("kt: error: the gateway did not start: fix the errors above (kt policy lint reports the same)", run.ErrorLines[^1]);
        Assert.DoesNotContain("listening", run.Out + run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_2()
    {
        var config = _dir.Write("policy-config.yaml", "pack: { name: busy, version: 0.1.0 }\nproviders:\n  targets:\n    - id: echo\n      provider: echo\n");
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        var port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;

        var run = await KtWithEnvironment.RunAsync(_dir.Path, NoEnvironment, "gateway", "run", "-c", config, "--listen", $"127.0.0.1:{port}");

        Assert.Equal(ExitCodes.UsageOrIo, run.ExitCode);
        Assert.Equal($"kt: error: cannot listen on 127.0.0.1:{port}: the address is already in use (another gateway?); choose another with --listen", run.ErrorLines[^1]);
    }

    [Fact]
    public void The_description_masks_every_secret()
    {
        var settings = new GatewayRunSettings
        {
            ApiToken = "kt_gw_supersecret",
            Upstream = new Uri("http://127.0.0.1:9"),
            UpstreamApiKey = "sk-supersecret",
            ApiUrl = new Uri("https://api.example.com/?token=abc"),
        };

        var text = settings.ToString();

        Assert.DoesNotContain("supersecret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("token=abc", text, StringComparison.Ordinal);
        Assert.Contains("api token: set", text, StringComparison.Ordinal);
        Assert.Contains("api key set", text, StringComparison.Ordinal);
    }

    private GatewayRunSettings Resolve(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var console = KtWithEnvironment.Console(TextWriter.Null, TextWriter.Null, _dir.Path, environment);
        var command = new GatewayRunCommand(console);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        var (settings, problems) = command.Resolve(parse);
        Assert.Empty(problems);
        return settings!;
    }
}
