using System.Net;
using System.Net.Sockets;
using Keeptrusts.AspNetCore.Tests.Identity;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using ModelContextProtocol;
using ModelContextProtocol.Client;

namespace Keeptrusts.AspNetCore.Tests.Mcp;

/// <summary>The bridge when the upstream is down, and identity and rate limits applied to MCP callers as to chat callers.</summary>
public sealed class McpBridgeAccessTests
{
    private static async Task<McpClient> ConnectAsync(TestGateway gateway, string target, IDictionary<string, string>? headers = null)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(gateway.BaseUrl + "/mcp/" + target),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
        });
        return await McpClient.CreateAsync(transport, cancellationToken: Patience.Token());
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task An_upstream_that_is_down_gives_a_clear_json_rpc_error_not_a_hang()
    {
        await using var gateway = await TestGateway.StartAsync(McpBridgeTests.Config($"http://127.0.0.1:{UnusedPort()}"));
        await using var client = await ConnectAsync(gateway, "docs-mcp");

        var list = await Assert.ThrowsAsync<McpProtocolException>(() => client.ListToolsAsync(cancellationToken: Patience.Token()).AsTask());
        var call = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("search_docs", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32004, (int)list.ErrorCode);
        Assert.Contains("target 'docs-mcp' is unavailable: connection refused", list.Message, StringComparison.Ordinal);
        Assert.Equal(-32004, (int)call.ErrorCode);
    }

    [Fact]
    public async Task A_denied_tool_is_refused_even_when_the_upstream_is_down()
    {
        await using var gateway = await TestGateway.StartAsync(McpBridgeTests.Config($"http://127.0.0.1:{UnusedPort()}"));
        await using var client = await ConnectAsync(gateway, "docs-mcp");

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("delete_repo", new Dictionary<string, object?> { ["name"] = "x" }, cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32001, (int)error.ErrorCode);
    }

    [Fact]
    public async Task Gateway_keys_identify_mcp_callers_and_unverified_callers_are_refused()
    {
        await using var upstream = await FakeMcpServer.StartAsync();
        var yaml = McpBridgeTests.Config(upstream.BaseUrl) + "\n" + IdentityModeTests.KeysSection("gateway_key", requireVerified: true);
        await using var gateway = await TestGateway.StartAsync(yaml);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(gateway, "docs-mcp"));
        await using var client = await ConnectAsync(gateway, "docs-mcp", new Dictionary<string, string> { ["Authorization"] = "Bearer " + IdentityModeTests.Key });
        await client.CallToolAsync("search_docs", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Patience.Token());

        Assert.Contains("401", refused.ToString(), StringComparison.Ordinal);
        var record = Assert.Single(gateway.Sink.Records, static r => r.ToolName == "search_docs" && r.Policies is [{ Policy: "tool-governance" }]);
        Assert.Equal(("alice@example.com", IdentityProofMethod.GatewayKey), (record.UserId, record.IdentityProofMethod));
    }

    [Fact]
    public async Task Rate_limits_count_mcp_requests_and_answer_429_with_retry_after()
    {
        await using var upstream = await FakeMcpServer.StartAsync();
        // url_env names a variable that is never set: the limit is counted in-process.
        var yaml = McpBridgeTests.Config(upstream.BaseUrl) + "\ndistributed_rate_limit:\n  backend: valkey\n  url_env: KEEPTRUSTS_TEST_UNSET_VALKEY_URL\n  requests_per_minute: 5\n";
        await using var gateway = await TestGateway.StartAsync(yaml);
        var headers = new Dictionary<string, string> { ["X-User-ID"] = "mcp-user" };

        // Setting up the session takes a few requests; calls then go through until the minute's budget is spent.
        await using var client = await ConnectAsync(gateway, "docs-mcp", headers);
        var succeeded = 0;
        Exception? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            try
            {
                await client.CallToolAsync("search_docs", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Patience.Token());
                succeeded++;
            }
            catch (HttpRequestException ex)
            {
                refused = ex;
            }
        }

        Assert.NotNull(refused);
        Assert.Contains("429", refused!.Message, StringComparison.Ordinal);
        Assert.Contains("-32006", refused.Message, StringComparison.Ordinal);
        Assert.InRange(succeeded, 1, 3);
        Assert.Equal(succeeded, upstream.Received.Count("search_docs"));
    }
}
