using Keeptrusts.GatewayHost.Relay;

namespace Keeptrusts.GatewayHost.Tests.Relay;

public sealed class RelaySetupTests
{
    private static readonly Uri ApiUrl = new("https://api.eu.keeptrusts.com");

    [Fact]
    public void On_by_default_for_a_connected_gateway()
    {
        var (options, _, _, problems) = Resolve(new() { ["KEEPTRUSTS_API_TOKEN"] = "mt", ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = "rt_1" }, ApiUrl);

        Assert.Empty(problems);
        Assert.NotNull(options);
        Assert.Equal("wss://relay.eu.keeptrusts.com/v1/gateway/relay", options.Url.AbsoluteUri);
        Assert.Equal("mt", options.Token);
        Assert.Equal("rt_1", options.RegistrationId);
    }

    [Fact]
    public void The_gateway_token_stands_in_when_there_is_no_machine_token()
    {
        var (options, _, _, _) = Resolve(new() { ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = "rt_1" }, ApiUrl, gatewayToken: "gt");

        Assert.Equal("gt", options!.Token);
    }

    [Fact]
    public void The_relay_url_variable_overrides_the_derivation_and_needs_no_api_url()
    {
        var (options, _, _, _) = Resolve(new() { ["KEEPTRUSTS_RELAY_URL"] = "ws://127.0.0.1:7000/v1/gateway/relay", ["KEEPTRUSTS_API_TOKEN"] = "mt", ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = "rt_1" }, apiUrl: null);

        Assert.Equal("ws://127.0.0.1:7000/v1/gateway/relay", options!.Url.AbsoluteUri);
    }

    [Theory]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("false")]
    [InlineData("0")]
    public void Off_turns_it_off(string value)
    {
        var (options, reason, warn, problems) = Resolve(new() { ["KEEPTRUSTS_RELAY"] = value, ["KEEPTRUSTS_API_TOKEN"] = "mt", ["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = "rt_1" }, ApiUrl);

        Assert.Null(options);
        Assert.Empty(problems);
        Assert.False(warn);
        Assert.Equal("KEEPTRUSTS_RELAY=off", reason);
    }

    [Fact]
    public void A_standalone_gateway_has_no_relay_and_no_warning()
    {
        var (options, reason, warn, _) = Resolve([], apiUrl: null);

        Assert.Null(options);
        Assert.False(warn);
        Assert.Contains("KEEPTRUSTS_API_URL", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "rt_1", "KEEPTRUSTS_API_TOKEN")]
    [InlineData("mt", null, "KEEPTRUSTS_RUNTIME_REGISTRATION_ID")]
    public void Missing_token_or_registration_id_turns_it_off_with_a_warning(string? token, string? registration, string named)
    {
        var env = new Dictionary<string, string>();
        if (token is not null)
        {
            env["KEEPTRUSTS_API_TOKEN"] = token;
        }

        if (registration is not null)
        {
            env["KEEPTRUSTS_RUNTIME_REGISTRATION_ID"] = registration;
        }

        var (options, reason, warn, problems) = Resolve(env, ApiUrl);

        Assert.Null(options);
        Assert.Empty(problems);
        Assert.True(warn);
        Assert.Contains(named, reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KEEPTRUSTS_RELAY", "maybe", "KEEPTRUSTS_RELAY must be on or off")]
    [InlineData("KEEPTRUSTS_RELAY_URL", "wss://user:hunter2@relay.example.com", "KEEPTRUSTS_RELAY_URL must be")]
    public void Bad_values_are_problems_that_never_echo_a_url(string variable, string value, string problem)
    {
        var (_, _, _, problems) = Resolve(new() { [variable] = value }, ApiUrl);

        Assert.StartsWith(problem, Assert.Single(problems), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problems[0], StringComparison.Ordinal);
    }

    private static (RelayOptions? Options, string Reason, bool Warn, List<string> Problems) Resolve(Dictionary<string, string> env, Uri? apiUrl, string? gatewayToken = null)
    {
        var problems = new List<string>();
        var (options, reason, warn) = RelaySetup.Resolve(name => env.GetValueOrDefault(name), apiUrl, gatewayToken, problems);
        return (options, reason, warn, problems);
    }
}
