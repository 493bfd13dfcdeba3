using System.Net;
using System.Text.Json;
using Keeptrusts.AspNetCore.Tests.TestSupport;
using Keeptrusts.Policy.Evaluation;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Keeptrusts.AspNetCore.Tests.Mcp;

/// <summary>
/// The MCP bridge over real sockets: the official SDK's client against the gateway at <c>/mcp/{target}</c>, and an
/// MCP server built with the SDK as the upstream.
/// </summary>
public sealed class McpBridgeTests : IAsyncLifetime
{
    private FakeMcpServer _upstream = null!;
    private TestGateway _gateway = null!;

    public static string Config(string upstreamUrl, string extraTarget = "", string toolPolicy = "") => $$"""
        pack: {name: mcp-test, version: 1.0.0}
        policies:
          chain: [tool-governance, prompt-injection, pii-detector]
        policy:
          tool-governance:
            allow: ["search_*", echo_text, fetch_page, big_result, delete_repo]
            deny: ["search_admin*", "delete_*"]
            max_argument_bytes: 2048
            max_result_bytes: 4096
        {{toolPolicy}}
          pii-detector: {action: redact}
        providers:
          targets:
            - id: docs-mcp
              provider: mcp
              base_url: {{upstreamUrl}}
              timeout_ms: 10000
        {{extraTarget}}
        """;

    public async Task InitializeAsync()
    {
        _upstream = await FakeMcpServer.StartAsync();
        _gateway = await TestGateway.StartAsync(Config(_upstream.BaseUrl));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<McpClient> ConnectAsync(string target = "docs-mcp", IDictionary<string, string>? headers = null)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_gateway.BaseUrl + "/mcp/" + target),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
        });
        return await McpClient.CreateAsync(transport, cancellationToken: Patience.Token());
    }

    private static Dictionary<string, object?> Args(params (string Key, object? Value)[] pairs) => pairs.ToDictionary(static p => p.Key, static p => p.Value);

    [Fact]
    public async Task Tools_list_hides_denied_tools()
    {
        await using var client = await ConnectAsync();

        var tools = await client.ListToolsAsync(cancellationToken: Patience.Token());

        Assert.Equal(["big_result", "echo_text", "fetch_page", "search_add_tool", "search_docs"], tools.Select(static t => t.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_allowed_call_reaches_the_upstream_with_the_bridge_session_in_meta()
    {
        await using var client = await ConnectAsync();

        var result = await client.CallToolAsync("search_docs", Args(("query", "rate limits"), ("limit", 3)), cancellationToken: Patience.Token());

        Assert.NotEqual(true, result.IsError);
        Assert.StartsWith("results for", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
        Assert.Equal(1, _upstream.Received.Count("search_docs"));
        var (_, _, meta) = Assert.Single(_upstream.Received.Log);
        Assert.NotNull(meta);
        Assert.Equal(client.SessionId, meta!["mcp.session_id"]!.GetValue<string>());
        Assert.Equal(client.NegotiatedProtocolVersion, meta["mcp.protocol_version"]!.GetValue<string>());
        var record = Assert.Single(_gateway.Sink.Records, static r => r.ToolName == "search_docs" && r.Phase == PolicyPhase.Output && r.Policies is [{ Policy: "tool-governance" }]);
        Assert.Equal((PolicyDecision.Allow, "docs-mcp"), (record.Decision, record.TargetId));
    }

    [Fact]
    public async Task A_denied_call_is_refused_without_contacting_the_upstream()
    {
        await using var client = await ConnectAsync();

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("delete_repo", Args(("name", "prod")), cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32001, (int)error.ErrorCode);
        Assert.Contains("delete_repo", error.Message, StringComparison.Ordinal);
        Assert.Contains("deny[1]", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _upstream.Received.Total);
        var record = Assert.Single(_gateway.Sink.Records, static r => r.ToolName == "delete_repo");
        Assert.Equal((PolicyDecision.Block, "tool-governance", "tool_denied", "docs-mcp"), (record.Decision, record.BlockedBy, record.Code, record.TargetId));
    }

    [Fact]
    public async Task A_tool_outside_the_allow_list_is_refused()
    {
        await using var client = await ConnectAsync();

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("drop_database", Args(), cancellationToken: Patience.Token()).AsTask());

        Assert.Contains("not on the allow list", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _upstream.Received.Total);
    }

    [Theory]
    [InlineData("""{"limit":3}""", "$.query: required property is missing")]
    [InlineData("""{"query":42}""", "$.query: expected a string")]
    [InlineData("""{"query":"x","limit":"many"}""", "$.limit: expected an integer")]
    public async Task Arguments_that_fail_the_input_schema_are_refused_naming_the_path(string arguments, string expected)
    {
        await using var client = await ConnectAsync();
        var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)!;

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("search_docs", args, cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _upstream.Received.Total);
    }

    [Fact]
    public async Task Pii_in_arguments_is_redacted_before_the_upstream_sees_it()
    {
        await using var client = await ConnectAsync();

        var result = await client.CallToolAsync("echo_text", Args(("text", "mail jane.doe@example.com today")), cancellationToken: Patience.Token());

        var (_, arguments, _) = Assert.Single(_upstream.Received.Log);
        Assert.DoesNotContain("jane.doe@example.com", arguments, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:EMAIL_ADDRESS]", arguments, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.com", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
        Assert.All(_gateway.Sink.Records, static r => Assert.DoesNotContain("jane.doe", JsonSerializer.Serialize(r), StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_injection_in_a_tool_result_is_blocked()
    {
        await using var client = await ConnectAsync();

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("fetch_page", Args(("url", "https://example.com")), cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32002, (int)error.ErrorCode);
        Assert.Contains("prompt-injection", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Ignore all previous", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, _upstream.Received.Count("fetch_page"));
    }

    [Fact]
    public async Task Oversized_arguments_and_results_are_refused()
    {
        await using var client = await ConnectAsync();

        var big = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("echo_text", Args(("text", new string('a', 5000))), cancellationToken: Patience.Token()).AsTask());
        var huge = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("big_result", Args(), cancellationToken: Patience.Token()).AsTask());

        Assert.Equal(-32003, (int)big.ErrorCode);
        Assert.Contains("limit is 2048", big.Message, StringComparison.Ordinal);
        Assert.Equal(0, _upstream.Received.Count("echo_text"));
        Assert.Equal(-32003, (int)huge.ErrorCode);
        Assert.Contains("limit is 4096", huge.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tools_list_changed_from_the_upstream_reaches_the_caller_and_refreshes_the_list()
    {
        await using var client = await ConnectAsync();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            changed.TrySetResult();
            return ValueTask.CompletedTask;
        });
        var before = await client.ListToolsAsync(cancellationToken: Patience.Token());

        await client.CallToolAsync("search_add_tool", Args(), cancellationToken: Patience.Token());
        await changed.Task.Within();
        var after = await client.ListToolsAsync(cancellationToken: Patience.Token());
        var call = await client.CallToolAsync("search_news", Args(("query", "x")), cancellationToken: Patience.Token());

        Assert.DoesNotContain(before, static t => t.Name == "search_news");
        Assert.Contains(after, static t => t.Name == "search_news");
        Assert.NotEqual(true, call.IsError);
    }

    [Fact]
    public async Task An_unknown_target_is_a_json_rpc_error_with_404()
    {
        using var response = await _gateway.Http.PostAsync("/mcp/nope", new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32007, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("docs-mcp", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
