using Keeptrusts.AspNetCore.Tests.TestSupport;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Keeptrusts.AspNetCore.Tests.Mcp;

/// <summary>
/// The adapter mode: a target with <c>adapter_command</c> runs a local MCP runner over stdio (here a small shell
/// script) under the same governance as the native bridge.
/// </summary>
public sealed class McpAdapterModeTests
{
    private static readonly string Runner = Path.Combine(AppContext.BaseDirectory, "TestData", "fake-mcp-stdio.sh");

    private static string Config => $$"""
        pack: {name: mcp-adapter, version: 1.0.0}
        policies:
          chain: [tool-governance]
        policy:
          tool-governance:
            allow: ["local_*"]
        providers:
          targets:
            - id: local-mcp
              provider: mcp
              adapter_command: "sh '{{Runner}}'"
              timeout_ms: 10000
        """;

    private static async Task<McpClient> ConnectAsync(TestGateway gateway) =>
        await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(gateway.BaseUrl + "/mcp/local-mcp"), TransportMode = HttpTransportMode.StreamableHttp }),
            cancellationToken: Patience.Token());

    [Fact]
    public async Task A_stdio_runner_serves_the_target_under_the_same_governance()
    {
        await using var gateway = await TestGateway.StartAsync(Config);
        await using var client = await ConnectAsync(gateway);

        var tools = await client.ListToolsAsync(cancellationToken: Patience.Token());
        var answer = await client.CallToolAsync("local_echo", new Dictionary<string, object?> { ["text"] = "hi" }, cancellationToken: Patience.Token());
        var denied = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("delete_everything", new Dictionary<string, object?>(), cancellationToken: Patience.Token()).AsTask());
        var invalid = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("local_echo", new Dictionary<string, object?>(), cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(["local_echo"], tools.Select(static t => t.Name));
        Assert.Equal("stdio runner answered (meta=yes)", Assert.IsType<TextContentBlock>(Assert.Single(answer.Content)).Text);
        Assert.Equal(-32001, (int)denied.ErrorCode);
        Assert.Equal(McpErrorCode.InvalidParams, invalid.ErrorCode);
        Assert.Contains("$.text: required property is missing", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_runner_that_cannot_start_gives_a_clear_json_rpc_error()
    {
        await using var gateway = await TestGateway.StartAsync(Config.Replace(Runner, Runner + ".missing", StringComparison.Ordinal));
        await using var client = await ConnectAsync(gateway);

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.ListToolsAsync(cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32004, (int)error.ErrorCode);
        Assert.Contains("local-mcp", error.Message, StringComparison.Ordinal);
    }
}
