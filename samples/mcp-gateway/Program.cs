// The MCP bridge end to end, in one process:
//   1. a tool server built with the official MCP SDK on http://127.0.0.1:5199/mcp,
//   2. the Keeptrusts gateway in front of it, loading policy-config.yaml (the same file `kt gateway run` takes),
//   3. an MCP client that lists and calls tools through http://<gateway>/mcp/docs-mcp.
// `dotnet run -- --tool-server` runs only the tool server, to put `kt gateway run` in front of it instead.
using McpGatewaySample;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

var toolServer = WebApplication.CreateSlimBuilder();
toolServer.Logging.ClearProviders();
toolServer.WebHost.UseUrls("http://127.0.0.1:5199");
toolServer.Services.AddMcpServer().WithHttpTransport(static o => o.Stateless = false).WithTools<SampleTools>();
var tools = toolServer.Build();
tools.MapMcp("/mcp");
await tools.StartAsync();

if (args.Contains("--tool-server"))
{
    Console.WriteLine("Tool server on http://127.0.0.1:5199/mcp; Ctrl+C stops it.");
    await tools.WaitForShutdownAsync();
    return;
}

var gatewayBuilder = WebApplication.CreateSlimBuilder();
gatewayBuilder.Logging.ClearProviders();
gatewayBuilder.WebHost.UseUrls("http://127.0.0.1:0");
gatewayBuilder.Services.AddKeeptrustsGateway(o => o.ConfigFiles.Add(Path.Combine(AppContext.BaseDirectory, "policy-config.yaml")));
var gateway = gatewayBuilder.Build();
gateway.MapKeeptrustsGateway();
await gateway.StartAsync();
var endpoint = new Uri(gateway.Urls.First() + "/mcp/docs-mcp");
Console.WriteLine($"Gateway MCP endpoint: {endpoint}");

await using (var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp })))
{
    var listed = await client.ListToolsAsync();
    Console.WriteLine("tools/list (delete_repo is denied, so hidden): " + string.Join(", ", listed.Select(static t => t.Name)));

    await CallAsync("search_docs", new() { ["query"] = "rate limits" });
    await CallAsync("search_docs", new() { ["query"] = "mail jane.doe@example.com" });
    await CallAsync("get_weather", new() { ["city"] = 42 });
    await CallAsync("delete_repo", new() { ["name"] = "prod" });
    await CallAsync("fetch_page", new() { ["url"] = "https://example.com" });

    async Task CallAsync(string tool, Dictionary<string, object?> arguments)
    {
        try
        {
            var result = await client.CallToolAsync(tool, arguments);
            Console.WriteLine($"{tool}: {string.Join(" ", result.Content.OfType<TextContentBlock>().Select(static b => b.Text))}");
        }
        catch (McpProtocolException ex)
        {
            Console.WriteLine($"{tool}: refused ({(int)ex.ErrorCode}) {ex.Message}");
        }
    }
}

await gateway.StopAsync();
await tools.StopAsync();
